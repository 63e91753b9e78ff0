"""``InvalidationBus`` over Redis PUBLISH (SPUBLISH on a cluster)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from redis.asyncio import RedisCluster

from adapters.breaker import CircuitBreaker
from adapters.redis.cache import FAILURES
from adapters.redis.cluster import AnyRedis
from adapters.redis.messages import encode_message
from productcore.caching import Invalidation

log = logging.getLogger(__name__)

_BATCH = 500


class RedisInvalidationBus:
    """Publishes invalidations on one channel; large batches go out as several messages."""

    def __init__(
        self, client: AnyRedis, channel: str, breaker: CircuitBreaker | None = None, *, timeout: float = 0.25
    ) -> None:
        self._client = client
        # On a cluster, sharded: the primary of the channel's slot delivers to its subscribers itself
        # (docs/deploying.md, "Redis Cluster", says why and what was measured).
        self._sharded = isinstance(client, RedisCluster)
        self.channel = channel
        self._breaker = breaker or CircuitBreaker()
        self._timeout = timeout

    async def publish(self, invalidations: Sequence[Invalidation], *, flush: bool = False) -> bool:
        """Publish; False when Redis cannot be reached (or the breaker is open)."""
        if not self._breaker.allow():
            return False
        seconds = self._timeout * (1 + len(invalidations) // _BATCH)
        try:
            with self._breaker.watching(FAILURES):
                async with asyncio.timeout(seconds):
                    if flush or not invalidations:
                        await self._publish(self.channel, encode_message(invalidations[:_BATCH], flush=flush))
                        invalidations = invalidations[_BATCH:]
                    for start in range(0, len(invalidations), _BATCH):
                        chunk = invalidations[start : start + _BATCH]
                        await self._publish(self.channel, encode_message(chunk, flush=False))
        except FAILURES as error:
            log.warning("publishing invalidations failed (%s)", type(error).__name__)
            return False
        return True

    async def _publish(self, channel: str, message: bytes) -> None:
        if self._sharded:
            await self._client.spublish(channel, message)
        else:
            await self._client.publish(channel, message)
