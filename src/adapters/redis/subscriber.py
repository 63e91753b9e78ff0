"""The pub/sub subscriber of every instance: parse invalidations, apply them to the near cache."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import msgspec
from redis.asyncio import Redis, RedisCluster

from adapters.memory.near_cache import LruNearCache
from adapters.redis.cache import FAILURES
from adapters.redis.client import subscription_client
from adapters.redis.cluster import AnyRedis
from adapters.redis.messages import decode_message
from productcore.caching import CacheStats
from productcore.invalidation import apply_invalidations
from productcore.ports import HealthStatus

log = logging.getLogger(__name__)


def _raise_if_cancelled() -> None:
    """Re-raise a cancellation that a client library turned into a connection error."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


class _Silent(Exception):
    """The server stopped answering pings on the subscription."""


class _Moved(Exception):
    """The cluster node unsubscribed us: the channel's slot is served elsewhere now."""


class InvalidationSubscriber:
    """Keeps a subscription to the invalidation channel and the near cache in step with it.

    The near cache is served only while the subscription is known to be live: it is disabled
    (and flushed) when the connection breaks or stops answering pings, and flushed and enabled
    again on every (re)subscription, since messages sent meanwhile are lost.

    Args:
        client: Redis client, whose settings the subscription's own connection copies. On a cluster
            the subscription is sharded (``SSUBSCRIBE``, on the primary of the channel's slot).
        channel: The invalidation channel.
        near: This process's near cache.
        stats: Counters to add to.
        ping_interval: Seconds between liveness pings; three unanswered intervals mean dead.
    """

    def __init__(
        self,
        client: AnyRedis,
        channel: str,
        near: LruNearCache,
        stats: CacheStats,
        *,
        ping_interval: float = 1.0,
    ) -> None:
        self._client = client
        self._sharded = isinstance(client, RedisCluster)
        self._channel = channel
        self._near = near
        self._stats = stats
        self._ping_interval = ping_interval
        self.state = "starting"
        self.subscriptions = 0
        self.last_message_at: float | None = None
        self.connected = asyncio.Event()
        self.stopping = False

    async def run(self) -> None:
        """Subscribe and apply messages until cancelled, reconnecting with backoff."""
        pause = 0.05
        while not self.stopping:
            try:
                client = await subscription_client(self._client, self._channel)
                try:
                    await self._listen(client)
                finally:
                    await client.aclose(close_connection_pool=True)
            except asyncio.CancelledError:
                raise
            except (*FAILURES, _Silent, _Moved) as error:
                self._lost(type(error).__name__)
            except Exception:
                log.exception("invalidation subscriber failed; restarting it")
                self._lost("unexpected error")
            _raise_if_cancelled()
            if self.stopping:
                break
            await asyncio.sleep(pause)
            pause = min(pause * 2, 1.0) if self.state != "connected" else 0.05

    def _lost(self, reason: str) -> None:
        if self.state != "disconnected":
            log.warning("invalidation channel lost (%s): near cache off until resubscribed", reason)
        self.state = "disconnected"
        self.connected.clear()
        self._near.disable()
        self._stats.l1_flushes += 1

    async def _listen(self, client: Redis) -> None:
        async with client.pubsub() as pubsub:
            if self._sharded:
                await pubsub.ssubscribe(self._channel)
            else:
                await pubsub.subscribe(self._channel)
            heard = next_ping = time.monotonic()
            while not self.stopping:
                message = await pubsub.get_message(timeout=self._ping_interval / 2)
                now = time.monotonic()
                if message is not None:
                    heard = now
                    self._handle(message)
                if now - heard > 3 * self._ping_interval:
                    raise _Silent
                if now >= next_ping:
                    await pubsub.ping()
                    next_ping = now + self._ping_interval

    def _handle(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        if kind in ("subscribe", "ssubscribe"):
            self._near.enable()
            self._stats.l1_flushes += 1
            self.subscriptions += 1
            self.state = "connected"
            self.connected.set()
            log.info("subscribed to %s; near cache flushed and on", self._channel)
        elif kind == "sunsubscribe":
            raise _Moved  # the channel's slot left this node (resharding, failover)
        elif kind in ("message", "smessage"):
            self.last_message_at = time.time()
            try:
                parsed = decode_message(message["data"])
            except (msgspec.DecodeError, msgspec.ValidationError):
                log.warning("ignored a malformed invalidation message")
                return
            apply_invalidations(self._near, parsed.c, flush=parsed.f, stats=self._stats)

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
