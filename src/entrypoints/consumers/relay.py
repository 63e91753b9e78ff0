"""The cache relay: one active per database, carrying committed changes from the outbox to the caches."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence

from entrypoints.consumers.invalidations import raise_if_cancelled
from productcore.caching import Change
from productcore.errors import ServiceUnavailable
from productcore.ports import ChangeOutbox, ConnectionLost, HealthStatus, OutboxMonitor, OutboxSession

log = logging.getLogger(__name__)

Apply = Callable[[Sequence[Change]], Awaitable[None]]
Verify = Callable[[int], Awaitable[bool]]


class ChangeRelayRunner:
    """Runs the relay loop: take the lead or stand by, then relay batches as they commit.

    A standby retries the lead every ``takeover_interval`` seconds, so when the active relay's
    process dies (its session, and with it the lead, goes away) another one takes over.
    The active relay relays what is in the outbox, oldest first, and prunes it only after the
    cache and the bus took it; on any failure it keeps the changes and retries, so a change is
    relayed at least once whatever fails, and replays are harmless (tombstones are CAS).

    Between batches (and at least every ``poll_interval``), the active relay checks with
    ``verify`` that the cache saw every change it relayed, so a cache that came back with old data
    is found and dropped within that interval.

    Args:
        outbox: The database's outbox of committed changes.
        apply: The use case that tombstones and broadcasts a batch of changes.
        verify: The use case that checks the cache saw every change up to an outbox position.
        batch: Changes per round trip.
        poll_interval: Seconds to wait for a commit before looking anyway.
        takeover_interval: Seconds between a standby's attempts to take the lead.
    """

    def __init__(
        self,
        outbox: ChangeOutbox,
        apply: Apply,
        *,
        verify: Verify | None = None,
        batch: int = 1000,
        poll_interval: float = 1.0,
        takeover_interval: float = 1.0,
    ) -> None:
        self._outbox = outbox
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
                async with self._outbox.connect() as session:
                    pause = 0.1
                    await self._lead(session)
            except asyncio.CancelledError:
                raise
            except ConnectionLost as error:
                self.last_error = error.reason
                log.warning("cache relay lost the database (%s); retrying", self.last_error)
                raise_if_cancelled()
            except Exception as error:  # a bug must not end the relay for good: log it, start again
                self.last_error = type(error).__name__
                self.restarts += 1
                log.exception("cache relay failed (%s); restarting it", self.last_error)
            finally:
                self.role = "standby" if self.role == "active" else self.role
                self.active.clear()
            await asyncio.sleep(pause)
            pause = min(pause * 2, 2.0)

    async def _lead(self, session: OutboxSession) -> None:
        while not await session.take_lead():
            self.role = "standby"
            await asyncio.sleep(self._takeover_interval)
        self._position = await session.resume()
        self.role = "active"
        self.active.set()
        log.info("cache relay active for this database")
        while True:
            try:
                relayed = await self._relay_batch(session)
                await self._check_cache()
            except ServiceUnavailable as error:
                self.last_error = error.reason
                log.warning("cache relay cannot reach the cache (%s); will retry", error.reason)
                await asyncio.sleep(0.2)
                continue
            if relayed < self._batch:
                await session.wait_for_commit(self._poll_interval)

    async def _relay_batch(self, session: OutboxSession) -> int:
        changes = await session.read_pending(self._batch)
        if not changes:
            self._pending_since = None
            return 0
        if self._pending_since is None:
            self._pending_since = changes[0].committed_at
        await self._apply(changes)
        await session.prune(changes)
        self.relayed += len(changes)
        self._position = max(self._position, changes[-1].seq)
        self.last_error = None
        self._pending_since = None if len(changes) < self._batch else changes[-1].committed_at
        return len(changes)

    async def _check_cache(self) -> None:
        if self._verify is not None and await self._verify(self._position):
            self.cache_resets += 1
            log.warning(
                "the cache had not seen every change up to outbox position %s (a Redis restored from an "
                "older snapshot, a promoted replica that lagged, or a flush): dropped all it held",
                self._position,
            )


class RelayHealth:
    """Readiness detail of the relay: this process's role, how far behind the outbox is, and
    whether any process holds the relay lock.

    Relay lag delays out-of-band changes reaching caches; it does not stop the API, so it is
    reported, not failed on. No relay at all is different: out-of-band changes would then reach
    the caches only by expiry, so once checks have seen the relay lock free (held by no process,
    this one or another) for longer than ``missing_after`` seconds, the check fails.
    """

    def __init__(
        self, monitor: OutboxMonitor, runner: ChangeRelayRunner | None, missing_after: float = 30.0
    ) -> None:
        self._monitor = monitor
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
            state = await self._monitor.inspect()
        except Exception as error:  # a broken database is the database check's to report
            details["lag_error"] = type(error).__name__
            return HealthStatus("relay", True, details)
        details["outbox_lag_s"] = round(state.oldest_pending_s, 3)
        now = time.monotonic()
        if state.lock_held:
            self._free_since = None
            return HealthStatus("relay", True, details)
        self._free_since = self._free_since if self._free_since is not None else now
        details["lock_free_s"] = round(now - self._free_since, 3)
        return HealthStatus("relay", now - self._free_since <= self._missing_after, details)
