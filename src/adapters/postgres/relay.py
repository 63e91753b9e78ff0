"""The cache relay: one per database (advisory lock), woken by NOTIFY, reading the change outbox."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime

import psycopg
from psycopg import AsyncConnection
from psycopg.rows import tuple_row
from psycopg_pool import AsyncConnectionPool

from productcore.caching import Change, ChangeKind
from productcore.errors import ServiceUnavailable
from productcore.ports import HealthStatus

log = logging.getLogger(__name__)

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

Apply = Callable[[Sequence[Change]], Awaitable[None]]
Verify = Callable[[int], Awaitable[bool]]

_LAST = "SELECT last_seq FROM cache_relay_state"


class ChangeRelayRunner:
    """Runs the relay loop: take the lock or stand by, then relay batches as they commit.

    A standby retries the lock every ``takeover_interval`` seconds, so when the active relay's
    process dies (its connection, and with it the lock, goes away) another one takes over.
    The active relay relays what is in the outbox, oldest first, and deletes it only after the
    cache and the bus took it; on any failure it keeps the rows and retries, so a change is
    relayed at least once whatever fails, and replays are harmless (tombstones are CAS).

    Between batches (and at least every ``poll_interval``), the active relay checks with
    ``verify`` that the cache saw every change it relayed, so a cache that came back with old data
    is found and dropped within that interval.

    Args:
        conninfo: The database.
        apply: The use case that tombstones and broadcasts a batch of changes.
        verify: The use case that checks the cache saw every change up to an outbox position.
        batch: Changes per round trip.
        poll_interval: Seconds to wait for a NOTIFY before looking anyway.
        takeover_interval: Seconds between a standby's attempts to take the lock.
    """

    def __init__(
        self,
        conninfo: str,
        apply: Apply,
        *,
        verify: Verify | None = None,
        batch: int = 1000,
        poll_interval: float = 1.0,
        takeover_interval: float = 1.0,
    ) -> None:
        self._conninfo = conninfo
        self._apply = apply
        self._verify = verify
        self._position = 0
        self.cache_resets = 0
        self._batch = batch
        self._poll_interval = poll_interval
        self._takeover_interval = takeover_interval
        self.role = "starting"
        self.relayed = 0
        self._pending_since: float | None = None
        self.last_error: str | None = None
        self.restarts = 0
        self.active = asyncio.Event()

    @property
    def lag_s(self) -> float:
        """Seconds the oldest change this relay has seen but not yet relayed has waited (0: none)."""
        return 0.0 if self._pending_since is None else max(0.0, time.time() - self._pending_since)

    async def run(self) -> None:
        """Relay until cancelled; reconnect after database failures, and start again after any error."""
        pause = 0.1
        while True:
            try:
                async with await relay_connection(self._conninfo) as conn:
                    pause = 0.1
                    await self._lead(conn)
            except asyncio.CancelledError:
                raise
            except psycopg.Error as error:
                self.last_error = type(error).__name__
                log.warning("cache relay lost the database (%s); retrying", self.last_error)
                task = asyncio.current_task()
                if task is not None and task.cancelling():
                    raise asyncio.CancelledError from None
            except Exception as error:  # a bug must not end the relay for good: log it, start again
                self.last_error = type(error).__name__
                self.restarts += 1
                log.exception("cache relay failed (%s); restarting it", self.last_error)
            finally:
                self.role = "standby" if self.role == "active" else self.role
                self.active.clear()
            await asyncio.sleep(pause)
            pause = min(pause * 2, 2.0)

    async def _lead(self, conn: AsyncConnection) -> None:
        while not await _try_lock(conn):
            self.role = "standby"
            await asyncio.sleep(self._takeover_interval)
        await conn.execute("LISTEN product_changes")
        row = await (await conn.execute(_LAST)).fetchone()
        self._position = int(row[0]) if row else 0
        self.role = "active"
        self.active.set()
        log.info("cache relay active for this database")
        while True:
            try:
                relayed = await self._relay_batch(conn)
                await self._check_cache()
            except ServiceUnavailable as error:
                self.last_error = error.reason
                log.warning("cache relay cannot reach the cache (%s); will retry", error.reason)
                await asyncio.sleep(0.2)
                continue
            if relayed < self._batch:
                await _wait_for_notify(conn, self._poll_interval)

    async def _relay_batch(self, conn: AsyncConnection) -> int:
        cur = conn.cursor(row_factory=tuple_row)
        await cur.execute(_PENDING, {"limit": self._batch})
        rows = await cur.fetchall()
        if not rows:
            self._pending_since = None
            return 0
        changes = [Change(seq, ChangeKind(op), pid, version) for seq, op, pid, version, _ in rows]
        oldest: datetime = rows[0][4]
        if self._pending_since is None:
            self._pending_since = oldest.timestamp()
        await self._apply(changes)
        await conn.execute(_DONE, {"seqs": [c.seq for c in changes], "seq": changes[-1].seq})
        self.relayed += len(changes)
        self._position = max(self._position, changes[-1].seq)
        self.last_error = None
        self._pending_since = None if len(changes) < self._batch else rows[-1][4].timestamp()
        return len(changes)

    async def _check_cache(self) -> None:
        if self._verify is not None and await self._verify(self._position):
            self.cache_resets += 1
            log.warning(
                "the cache had not seen every change up to outbox position %s (a Redis restored from an "
                "older snapshot, a promoted replica that lagged, or a flush): dropped all it held",
                self._position,
            )


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


async def _try_lock(conn: AsyncConnection) -> bool:
    cur = await conn.execute("SELECT pg_try_advisory_lock(%s)", (RELAY_LOCK,))
    row = await cur.fetchone()
    return bool(row and row[0])


async def _wait_for_notify(conn: AsyncConnection, seconds: float) -> None:
    async for _ in conn.notifies(timeout=seconds, stop_after=1):
        break


async def oldest_pending_age(conn: AsyncConnection) -> float:
    """Seconds since the oldest change still waiting to be relayed committed (0 when none waits)."""
    cur = await conn.execute(_OLDEST)
    row = await cur.fetchone()
    return float(row[0]) if row and row[0] is not None else 0.0


class RelayHealth:
    """Readiness detail of the relay: this process's role, how far behind the outbox is, and
    whether any process holds the relay lock.

    Relay lag delays out-of-band changes reaching caches; it does not stop the API, so it is
    reported, not failed on. No relay at all is different: out-of-band changes would then reach
    the caches only by expiry, so once checks have seen the relay lock free (held by no process,
    this one or another) for longer than ``missing_after`` seconds, the check fails.
    """

    def __init__(
        self, pool: AsyncConnectionPool, runner: ChangeRelayRunner | None, missing_after: float = 30.0
    ) -> None:
        self._pool = pool
        self._runner = runner
        self._missing_after = missing_after
        self._free_since: float | None = None

    async def check(self) -> HealthStatus:
        """Role, changes relayed by this process, the age of the oldest pending change, the lock."""
        details: dict[str, object] = {"role": self._runner.role if self._runner else "off"}
        if self._runner is not None:
            details["relayed"] = self._runner.relayed
            details["relay_lag_s"] = round(self._runner.lag_s, 3)
            details["restarts"] = self._runner.restarts
            if self._runner.last_error:
                details["last_error"] = self._runner.last_error
        try:
            async with asyncio.timeout(2.0), self._pool.connection(timeout=2.0) as conn:
                details["outbox_lag_s"] = round(await oldest_pending_age(conn), 3)
                held = await _lock_held(conn)
        except Exception as error:  # a broken database is the database check's to report
            details["lag_error"] = type(error).__name__
            return HealthStatus("relay", True, details)
        now = time.monotonic()
        if held:
            self._free_since = None
            return HealthStatus("relay", True, details)
        self._free_since = self._free_since if self._free_since is not None else now
        details["lock_free_s"] = round(now - self._free_since, 3)
        return HealthStatus("relay", now - self._free_since <= self._missing_after, details)


async def _lock_held(conn: AsyncConnection) -> bool:
    """Whether any session of this database holds the relay lock."""
    cur = await conn.execute(_HOLDER, {"high": RELAY_LOCK >> 32, "low": RELAY_LOCK & 0xFFFFFFFF})
    row = await cur.fetchone()
    return bool(row and row[0])
