"""Readiness detail of the Redis cache: a PING, the breaker state and the eviction policy."""

from __future__ import annotations

import asyncio
import time

from redis.asyncio import RedisCluster

from adapters.breaker import CircuitBreaker
from adapters.redis.cache import FAILURES
from adapters.redis.cluster import AnyRedis
from productcore.ports import HealthStatus


class RedisHealth:
    """Reports whether Redis answers; the service stays ready without it (it reads PostgreSQL)."""

    def __init__(self, client: AnyRedis, breaker: CircuitBreaker, timeout: float = 0.5) -> None:
        self._client = client
        self._breaker = breaker
        self._timeout = timeout

    async def check(self) -> HealthStatus:
        """PING (every primary of a cluster) within the timeout; a failure is reported as degraded
        caching, never as not ready."""
        started = time.perf_counter()
        details: dict[str, object] = {"breaker": self._breaker.state}
        try:
            async with asyncio.timeout(self._timeout):
                if isinstance(self._client, RedisCluster):  # every primary: each holds part of the keys
                    await self._client.ping(target_nodes=RedisCluster.PRIMARIES)
                    details["primaries"] = len(self._client.get_primaries())
                else:
                    await self._client.ping()
        except FAILURES as error:
            details.update(state="unreachable", error=type(error).__name__)
            return HealthStatus("cache", True, details)
        details.update(state="ok", latency_ms=round((time.perf_counter() - started) * 1000, 2))
        return HealthStatus("cache", True, details)
