"""The HTTP entry point: a Litestar app over the product service."""

from entrypoints.http.app import create_app

__all__ = ["create_app"]
