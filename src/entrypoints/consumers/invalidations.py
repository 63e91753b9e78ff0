"""The invalidation subscriber of every instance: hear broadcasts, keep the near cache in step."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from productcore.caching import Broadcast, CacheStats
from productcore.invalidation import apply_invalidations, subscription_lost, subscription_started
from productcore.ports import ConnectionLost, HealthStatus, InvalidationFeed, SwitchableNearCache

log = logging.getLogger(__name__)


def raise_if_cancelled() -> None:
    """Re-raise a cancellation that a client library turned into a connection error."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


class InvalidationSubscriber:
    """Keeps a subscription to the invalidation channel and the near cache in step with it.

    The near cache is served only while the subscription is known to be live: it is disabled
    (and flushed) when the feed's connection breaks or stops answering, and flushed and enabled
    again on every (re)subscription, since messages sent meanwhile are lost.

    Args:
        feed: The invalidation channel.
        near: This process's near cache.
        stats: Counters to add to.
    """

    def __init__(self, feed: InvalidationFeed, near: SwitchableNearCache, stats: CacheStats) -> None:
        self._feed = feed
        self._near = near
        self._stats = stats
        self.state = "starting"
        self.subscriptions = 0
        self.last_message_at: float | None = None
        self.connected = asyncio.Event()
        self.stopping = False

    async def run(self) -> None:
        """Subscribe and apply messages until cancelled, resubscribing with backoff."""
        try:
            await self._subscribed()
        finally:
            await self._feed.close()

    async def _subscribed(self) -> None:
        pause = 0.05
        while not self.stopping:
            try:
                await self._listen()
            except asyncio.CancelledError:
                raise
            except ConnectionLost as error:
                self._lost(error.reason)
            except Exception:
                log.exception("invalidation subscriber failed; restarting it")
                self._lost("unexpected error")
            raise_if_cancelled()
            if self.stopping:
                break
            await asyncio.sleep(pause)
            pause = min(pause * 2, 1.0) if self.state != "connected" else 0.05

    def _lost(self, reason: str) -> None:
        if self.state != "disconnected":
            log.warning("invalidation channel lost (%s): near cache off until resubscribed", reason)
        self.state = "disconnected"
        self.connected.clear()
        subscription_lost(self._near, self._stats)

    async def _listen(self) -> None:
        async with contextlib.aclosing(self._feed.listen()) as events:
            async for event in events:
                if isinstance(event, Broadcast):
                    self.last_message_at = time.time()
                    apply_invalidations(self._near, event.invalidations, flush=event.flush, stats=self._stats)
                else:
                    subscription_started(self._near, self._stats)
                    self.subscriptions += 1
                    self.state = "connected"
                    self.connected.set()
                    log.info("subscribed to the invalidation channel; near cache flushed and on")
                if self.stopping:
                    return

    async def check(self) -> HealthStatus:
        """Report the subscription state; a lost subscription degrades caching, not readiness."""
        details: dict[str, object] = {
            "state": self.state,
            "near_cache": "on" if self._near.enabled else "off",
            "near_entries": len(self._near),
            "subscriptions": self.subscriptions,
        }
        if self.last_message_at is not None:
            details["last_message_age_s"] = round(time.time() - self.last_message_at, 3)
        return HealthStatus("invalidation_subscriber", True, details)
