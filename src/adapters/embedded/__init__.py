"""Development servers started from wheels, so a fresh machine needs nothing but pip."""

from adapters.embedded.postgres import embedded_postgres

__all__ = ["embedded_postgres"]
