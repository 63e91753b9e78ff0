"""Plain SQL migrations, applied in order under an advisory lock and recorded in a table."""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources

from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

# An arbitrary constant: the advisory lock that serialises migrators of one database.
_MIGRATION_LOCK = 7_349_012_001

_CREATE_TABLE = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version    integer PRIMARY KEY,
    name       text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)
"""


@dataclass(frozen=True, slots=True)
class Migration:
    """One numbered SQL file."""

    version: int
    name: str
    sql: str


class SchemaMismatch(RuntimeError):
    """The database schema is not the one this code was written for."""


def known_migrations() -> list[Migration]:
    """The migrations shipped with this package, in the order they apply."""
    found = []
    for entry in resources.files("adapters.postgres").joinpath("sql").iterdir():
        match = re.fullmatch(r"(\d{4})_(\w+)\.sql", entry.name)
        if match:
            found.append(Migration(int(match[1]), match[2], entry.read_text(encoding="utf-8")))
    return sorted(found, key=lambda m: m.version)


def latest_version() -> int:
    """The schema version this code expects."""
    return known_migrations()[-1].version


async def _applied(conn: AsyncConnection) -> set[int]:
    cur = await conn.execute("SELECT to_regclass('schema_migrations') IS NOT NULL")
    exists = await cur.fetchone()
    if not exists or not exists[0]:
        return set()
    cur = await conn.execute("SELECT version FROM schema_migrations")
    return {row[0] for row in await cur.fetchall()}


def _refuse_newer(applied: set[int]) -> None:
    if applied and max(applied) > latest_version():
        raise SchemaMismatch(
            f"the database schema is at version {max(applied)}, newer than this productcore knows "
            f"({latest_version()}); upgrade productcore before running it against this database"
        )


async def migrate(conninfo: str) -> list[Migration]:
    """Apply every migration not yet recorded; return the ones applied (none the second time)."""
    applied_now = []
    async with await AsyncConnection.connect(conninfo, autocommit=True) as conn, conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
        await conn.execute(_CREATE_TABLE)
        applied = await _applied(conn)
        _refuse_newer(applied)
        for migration in known_migrations():
            if migration.version in applied:
                continue
            await conn.execute(migration.sql.encode())
            await conn.execute(
                "INSERT INTO schema_migrations (version, name) VALUES (%s, %s)",
                (migration.version, migration.name),
            )
            applied_now.append(migration)
    return applied_now


async def check_schema(pool: AsyncConnectionPool) -> None:
    """Refuse to serve a database whose schema is older or newer than this code's."""
    async with pool.connection() as conn:
        applied = await _applied(conn)
    _refuse_newer(applied)
    if not applied or max(applied) < latest_version():
        raise SchemaMismatch(
            f"the database schema is at version {max(applied, default=0)}, older than this productcore "
            f"needs ({latest_version()}); run `productcore db migrate`"
        )
