"""How the command line fails: exit codes, and one line on stderr for every expected failure.

Exit codes: 0 success; 1 an operational or domain failure (not found, version conflict, a server
that cannot be reached, a file that cannot be read or loaded); 2 a usage or configuration error (a
bad option, or a bad ``PRODUCTCORE_*`` variable, named in the message).
"""

from __future__ import annotations

import signal
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click
import psycopg
import redis.exceptions
from psycopg.conninfo import conninfo_to_dict

from entrypoints.settings import ConfigError

OPERATIONAL = 1
USAGE = 2


class Failure(click.ClickException):
    """An operational or domain failure: ``Error: <message>`` and exit code 1."""

    exit_code = OPERATIONAL


class BadConfiguration(click.ClickException):
    """A bad ``PRODUCTCORE_*`` variable: ``Error: <message>`` and exit code 2, without a usage banner."""

    exit_code = USAGE


def database_label(url: str) -> str:
    """Where a database URL points, as ``host:port/dbname``, without user or password."""
    try:
        parts = conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return "(unparsable URL)"
    host = parts.get("host") or parts.get("hostaddr") or "localhost"
    port = parts.get("port") or "5432"
    return f"{host}:{port}/{parts.get('dbname') or parts.get('user') or ''}"


def connection_reason(error: BaseException) -> str:
    """The useful part of a psycopg or Redis connection error: its first line, without preamble."""
    first = (str(error).strip().splitlines() or [type(error).__name__])[0]
    reason = first.rpartition(" failed: ")[2] or first
    return reason.removeprefix("FATAL:").strip()


def unreachable_database(url: str, error: BaseException, *, embedded: bool) -> Failure:
    """The one-line failure for a database that refused or never answered."""
    source = "the embedded PostgreSQL" if embedded else "PRODUCTCORE_DATABASE_URL"
    return Failure(f"cannot reach the database {database_label(url)} ({source}): {connection_reason(error)}")


_REDIS_UNREACHABLE = (
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    redis.exceptions.RedisClusterException,  # a cluster with no reachable node, or slots uncovered
)


def _expected(error: Exception) -> click.ClickException | None:
    """The clean failure for an error that is an expected condition rather than a bug, else None."""
    if isinstance(error, ConfigError):
        return BadConfiguration(str(error))
    if isinstance(error, psycopg.OperationalError):
        return Failure(f"database: {connection_reason(error)}")
    if isinstance(
        error,
        (
            redis.exceptions.ConnectionError,
            redis.exceptions.TimeoutError,
            redis.exceptions.RedisClusterException,
        ),
    ):
        return Failure(f"cannot reach Redis (PRODUCTCORE_REDIS_URL): {connection_reason(error)}")
    if isinstance(error, OSError):
        where = f": {error.filename}" if error.filename else ""
        return Failure(f"{error.strerror or error}{where}")
    return None


class FailingCleanly(click.Group):
    """A command group whose commands end expected failures with one line, never a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        """Run the command; turn expected failures into click errors and bugs into a hint."""
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception as error:
            if (clean := _expected(error)) is not None:
                raise clean from None
            traceback.print_exc()
            raise Failure(
                f"unexpected {type(error).__name__}; this is a bug in productcore, please report it "
                "with the traceback above"
            ) from None


@contextmanager
def sigterm_fails() -> Iterator[None]:
    """While a load runs, SIGTERM ends the command as a failure (exit 1), not as a success.

    The exception is raised wherever the main thread is, so the load's transaction rolls back and
    embedded servers are stopped in order, as for any other failure.
    """

    def interrupted(signum: int, frame: object) -> None:
        raise Failure("interrupted by SIGTERM: a load that had not committed was rolled back")

    previous = signal.signal(signal.SIGTERM, interrupted)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
