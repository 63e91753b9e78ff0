"""Building the cache layer: Redis (configured or embedded), L2, L1, the subscriber and the relay."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from adapters.breaker import CircuitBreaker
from adapters.embedded import shared_embedded_redis
from adapters.memory import LruNearCache
from adapters.postgres.relay import PostgresChangeOutbox
from adapters.redis import (
    CacheTimes,
    RedisHealth,
    RedisInvalidationBus,
    RedisInvalidationFeed,
    RedisProductCache,
    open_redis,
)
from adapters.redis.cluster import AnyRedis
from entrypoints.consumers.invalidations import InvalidationSubscriber
from entrypoints.consumers.relay import ChangeRelayRunner
from entrypoints.metrics import cache_metrics
from entrypoints.settings import Settings
from productcore.caching import CacheStats
from productcore.invalidation import ChangeRelay
from productcore.ports import HealthCheck

log = logging.getLogger(__name__)


@dataclass
class CacheLayer:
    """Everything of one process's caching; all None when caching is off."""

    stats: CacheStats
    cache: RedisProductCache | None = None
    bus: RedisInvalidationBus | None = None
    near: LruNearCache | None = None
    subscriber: InvalidationSubscriber | None = None
    health_checks: list[HealthCheck] = field(default_factory=list)


async def redis_url(settings: Settings) -> AsyncIterator[str | None]:
    """Yield the configured Redis URL, else the data directory's shared embedded server; None when off."""
    if not settings.cache_enabled:
        yield None
        return
    if settings.redis_url is not None:
        yield settings.redis_url
        return
    server = shared_embedded_redis(settings.data_path / "valkey")
    url = await asyncio.to_thread(server.__enter__)
    try:
        yield url
    finally:
        await asyncio.to_thread(server.__exit__, None, None, None)


async def redis_client(url: str | None, settings: Settings) -> AsyncIterator[AnyRedis | None]:
    """Open a client of ``url`` (warning about a non-LRU eviction policy); None when caching is off."""
    if url is None:
        yield None
        return
    async with open_redis(url, call_timeout=settings.redis_timeout) as client:
        yield client


async def _stop(task: asyncio.Task[None]) -> None:
    """Cancel a background task and wait for it, cancelling again should a library swallow it."""
    while not task.done():
        task.cancel()
        await asyncio.wait([task], timeout=1.0)
    if not task.cancelled() and (error := task.exception()) is not None:
        log.warning("background task %s ended with %r", task.get_name(), error)


async def cache_layer(client: AnyRedis | None, settings: Settings) -> AsyncIterator[CacheLayer]:
    """Build L2, the bus and L1, and run the subscriber that keeps L1 right, until shutdown."""
    stats = CacheStats()
    if client is None:
        yield CacheLayer(stats)
        return
    breaker = CircuitBreaker(settings.redis_breaker_failures, settings.redis_breaker_reset)
    times = CacheTimes(settings.cache_ttl, settings.cache_negative_ttl, settings.cache_lease_ttl)
    cache = RedisProductCache(
        client,
        settings.cache_key_prefix,
        times=times,
        breaker=breaker,
        stats=stats,
        call_timeout=settings.redis_timeout,
    )
    bus = RedisInvalidationBus(client, cache.keys.channel, breaker, timeout=settings.redis_timeout)
    layer = CacheLayer(stats, cache, bus, health_checks=[RedisHealth(client, breaker)])
    task = None
    if settings.l1_size > 0:
        layer.near = LruNearCache(settings.l1_size, settings.l1_ttl, enabled=False)
        feed = RedisInvalidationFeed(client, bus.channel, ping_interval=settings.cache_ping_interval)
        layer.subscriber = InvalidationSubscriber(feed, layer.near, stats)
        layer.health_checks.append(layer.subscriber)
        task = asyncio.create_task(layer.subscriber.run(), name="productcore-invalidation-subscriber")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(layer.subscriber.connected.wait(), timeout=2.0)
    registration = cache_metrics().add(stats, layer.near, layer.subscriber)
    try:
        yield layer
    finally:
        cache_metrics().remove(registration)
        if task is not None and layer.subscriber is not None:
            layer.subscriber.stopping = True
            await _stop(task)


async def change_relay(
    database_url: str, layer: CacheLayer, settings: Settings
) -> AsyncIterator[ChangeRelayRunner | None]:
    """Run this process's relay candidate (active when it holds the database's relay lock)."""
    if not settings.relay_enabled or layer.cache is None or layer.bus is None:
        yield None
        return
    relay = ChangeRelay(layer.cache, layer.bus, layer.stats)
    runner = ChangeRelayRunner(
        PostgresChangeOutbox(database_url),
        relay.apply,
        verify=relay.verify,
        batch=settings.relay_batch,
        poll_interval=settings.relay_poll_interval,
    )
    task = asyncio.create_task(runner.run(), name="productcore-cache-relay")
    registration = cache_metrics().add_relay(runner)
    try:
        yield runner
    finally:
        cache_metrics().remove(registration)
        await _stop(task)


def health_checks(database: HealthCheck, relay: HealthCheck, layer: CacheLayer) -> list[HealthCheck]:
    """Every readiness check, database first."""
    return [database, relay, *layer.health_checks]
