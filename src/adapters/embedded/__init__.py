"""Development servers started from wheels, so a fresh machine needs nothing but pip."""

from adapters.embedded.postgres import embedded_postgres
from adapters.embedded.redis import embedded_redis, shared_embedded_redis

__all__ = ["embedded_postgres", "embedded_redis", "shared_embedded_redis"]
