"""The change outbox of PostgreSQL: the relay's session (advisory lock, LISTEN/NOTIFY, outbox SQL)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from datetime import datetime

import psycopg
from psycopg import AsyncConnection
from psycopg.rows import tuple_row
from psycopg_pool import AsyncConnectionPool

from productcore.caching import Change, ChangeKind, OutboxState
from productcore.ports import ConnectionLost

# An arbitrary constant: the session advisory lock held by the one active relay of a database.
RELAY_LOCK = 7_349_012_002

_PENDING = """
SELECT seq, op, product_id, version, changed_at
FROM product_changes ORDER BY seq LIMIT %(limit)s
"""
# One statement (one round trip, atomic on its own): prune what was relayed and record how far.
_DONE = """
WITH done AS (DELETE FROM product_changes WHERE seq = ANY(%(seqs)s))
UPDATE cache_relay_state SET last_seq = greatest(last_seq, %(seq)s), relayed_at = now()
"""
_HOLDER = """
SELECT count(*) FROM pg_locks
WHERE locktype = 'advisory' AND granted AND objsubid = 1
  AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
  AND classid = %(high)s::bigint::oid AND objid = %(low)s::bigint::oid
"""
_OLDEST = """
SELECT extract(epoch FROM clock_timestamp() - changed_at) FROM product_changes ORDER BY seq LIMIT 1
"""

_LAST = "SELECT last_seq FROM cache_relay_state"


@contextmanager
def _lost_on_error() -> Iterator[None]:
    """Turn a database error into ``ConnectionLost`` (the relay reconnects)."""
    try:
        yield
    except psycopg.Error as error:
        raise ConnectionLost(type(error).__name__) from error


class PostgresChangeOutbox:
    """A ``ChangeOutbox``: each session is a connection of its own (``relay_connection``).

    Args:
        conninfo: The database.
    """

    def __init__(self, conninfo: str) -> None:
        self._conninfo = conninfo

    @asynccontextmanager
    async def connect(self) -> AsyncIterator[PostgresOutboxSession]:
        """Open a session; raises ``ConnectionLost`` when the database cannot be reached."""
        with _lost_on_error():
            async with await relay_connection(self._conninfo) as conn:
                yield PostgresOutboxSession(conn)


class PostgresOutboxSession:
    """An ``OutboxSession`` on one autocommit connection (the advisory lock is the session's)."""

    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def take_lead(self) -> bool:
        """Take the relay lock if it is free; True when this session holds it."""
        with _lost_on_error():
            cur = await self._conn.execute("SELECT pg_try_advisory_lock(%s)", (RELAY_LOCK,))
            row = await cur.fetchone()
        return bool(row and row[0])

    async def resume(self) -> int:
        """LISTEN for commits, and return the outbox position relayed so far."""
        with _lost_on_error():
            await self._conn.execute("LISTEN product_changes")
            row = await (await self._conn.execute(_LAST)).fetchone()
        return int(row[0]) if row else 0

    async def read_pending(self, limit: int) -> list[Change]:
        """The oldest ``limit`` changes still in the outbox, oldest first."""
        with _lost_on_error():
            cur = self._conn.cursor(row_factory=tuple_row)
            await cur.execute(_PENDING, {"limit": limit})
            rows = await cur.fetchall()
        return [_change(*row) for row in rows]

    async def prune(self, changes: Sequence[Change]) -> None:
        """Delete relayed changes and record the position reached, in one statement."""
        if changes:
            with _lost_on_error():
                await self._conn.execute(_DONE, {"seqs": [c.seq for c in changes], "seq": changes[-1].seq})

    async def wait_for_commit(self, seconds: float) -> None:
        """Return at the next NOTIFY, or after ``seconds``."""
        with _lost_on_error():
            async for _ in self._conn.notifies(timeout=seconds, stop_after=1):
                break


def _change(seq: int, op: str, product_id: int | None, version: int, changed_at: datetime) -> Change:
    return Change(seq, ChangeKind(op), product_id, version, changed_at.timestamp())


# TCP keepalives at both ends of the relay's connection: if the network black-holes it (no RST),
# PostgreSQL ends the session after 5 s idle + 3 probes 2 s apart (or 15 s of unacknowledged data)
# and so frees the relay lock for a standby, and the relay itself notices and reconnects. Without
# them both ends wait for the kernel's defaults: about two hours. Unix sockets ignore them.
USER_TIMEOUT_MS = 15_000
_SERVER_KEEPALIVE = (
    "-c tcp_keepalives_idle=5 -c tcp_keepalives_interval=2 -c tcp_keepalives_count=3 "
    f"-c tcp_user_timeout={USER_TIMEOUT_MS}"
)


async def relay_connection(conninfo: str) -> AsyncConnection:
    """A connection for the relay: autocommit, named, with keepalives asked of both ends."""
    return await AsyncConnection.connect(
        conninfo,
        autocommit=True,
        application_name="productcore-relay",
        keepalives=1,
        keepalives_idle=5,
        keepalives_interval=2,
        keepalives_count=3,
        tcp_user_timeout=USER_TIMEOUT_MS,
        options=_SERVER_KEEPALIVE,
    )


async def oldest_pending_age(conn: AsyncConnection) -> float:
    """Seconds since the oldest change still waiting to be relayed committed (0 when none waits)."""
    cur = await conn.execute(_OLDEST)
    row = await cur.fetchone()
    return float(row[0]) if row and row[0] is not None else 0.0


class PostgresOutboxMonitor:
    """An ``OutboxMonitor`` over the pool: the outbox's oldest change and the relay lock's holder.

    Args:
        pool: The service's connection pool (a check waits at most two seconds for it).
    """

    def __init__(self, pool: AsyncConnectionPool) -> None:
        self._pool = pool

    async def inspect(self) -> OutboxState:
        """The age of the oldest pending change and whether any session holds the relay lock."""
        async with asyncio.timeout(2.0), self._pool.connection(timeout=2.0) as conn:
            return OutboxState(await oldest_pending_age(conn), await _lock_held(conn))


async def _lock_held(conn: AsyncConnection) -> bool:
    """Whether any session of this database holds the relay lock."""
    cur = await conn.execute(_HOLDER, {"high": RELAY_LOCK >> 32, "low": RELAY_LOCK & 0xFFFFFFFF})
    row = await cur.fetchone()
    return bool(row and row[0])
