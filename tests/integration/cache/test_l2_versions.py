"""L2 compares versions exactly at any size a bigint holds, not as Lua's doubles (exact to 2^53 only)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest

from adapters.redis import RedisProductCache
from adapters.redis.cache import parse_value
from adapters.redis.cluster import client_from_url
from productcore.caching import Invalidation, LookupStatus
from productcore.model import CachedProduct

BIG = 2**53
"""The first integer above which doubles skip integers: 2^53 + 1 is not a double."""


@pytest.fixture(name="l2")
async def _l2(redis_url: str) -> AsyncIterator[RedisProductCache]:
    """An L2 cache under a key prefix of this test's own, removed afterwards."""
    client = client_from_url(redis_url)
    prefix = f"test-versions:{uuid.uuid4().hex[:12]}"
    try:
        yield RedisProductCache(client, prefix)
    finally:
        keys = [key async for key in client.scan_iter(match=f"{prefix}:*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()


async def _stored(l2: RedisProductCache, product_id: int) -> CachedProduct | None:
    raw = await l2.raw(product_id)
    return parse_value(raw) if raw is not None else None


async def test_versions_beyond_2_to_the_53_never_move_backwards(l2: RedisProductCache) -> None:
    """A tombstone at 2^53 + 1 refuses a write-through and a fill of 2^53, accepts 2^53 + 1, and a
    TRUNCATE bumps it to exactly 2^53 + 2."""
    await l2.tombstone([Invalidation(1, BIG + 1)])
    assert not await l2.written(1, CachedProduct(BIG, b'{"old": true}'))
    lookup = await l2.lookup(1)
    assert lookup.status is LookupStatus.MISS and lookup.lease is not None
    assert not await l2.fill(1, CachedProduct(BIG, b'{"old": true}'), lookup.lease)
    assert await _stored(l2, 1) == CachedProduct(BIG + 1, None)
    assert await l2.written(1, CachedProduct(BIG + 1, b'{"new": true}'))
    assert await _stored(l2, 1) == CachedProduct(BIG + 1, b'{"new": true}')
    await l2.tombstone([Invalidation(2, 10**18 - 1)])
    await l2.clear()
    assert await _stored(l2, 1) == CachedProduct(BIG + 2, None)
    assert await _stored(l2, 2) == CachedProduct(10**18, None)
