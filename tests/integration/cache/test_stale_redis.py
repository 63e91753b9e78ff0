"""A Redis that comes back with old data (restored from an older snapshot) is found and dropped."""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path

from tests.integration.cache.conftest import SETTLE, Cluster, eventually
from tests.servers import RestartableRedis

DETECTION_BOUND = 5.0
"""Seconds from the restart until reads are right again: reconnecting, plus the relay's poll (0.5 s)."""


async def test_a_redis_restored_from_an_older_snapshot_is_dropped(cluster: Cluster) -> None:
    """After a change, Redis restarts from a snapshot taken before it (holding the older version and
    an older record of what was relayed): the relay sees the record behind PostgreSQL's, drops what
    Redis holds and flushes every L1, so reads show the current version again, not the snapshot's."""
    with (
        tempfile.TemporaryDirectory(prefix="productcore-redis-") as data,
        RestartableRedis(Path(data)) as redis,
    ):
        a = await cluster.start("a", redis_url=redis.url)
        (product_id,) = cluster.insert(1)
        await eventually(cluster.outbox_empty, within=SETTLE)
        assert await a.version(product_id) == 1
        old = await asyncio.to_thread(redis.snapshot)
        cluster.sql("UPDATE products SET stock = 9 WHERE id = %s", (product_id,))
        await eventually(cluster.outbox_empty, within=SETTLE)
        assert await a.version(product_id) == 2
        await asyncio.to_thread(redis.restart_from, old)
        back = time.perf_counter()
        seen: list[int] = []

        async def current() -> bool:
            response = await a.http.get(f"/products/{product_id}")
            if response.status_code == 200:
                seen.append(int(response.json()["version"]))
            return bool(seen) and seen[-1] == 2

        await eventually(current, within=DETECTION_BOUND, step=0.02)
        took = time.perf_counter() - back
        stale = sum(1 for version in seen if version < 2)
        for _ in range(20):  # and it stays right
            assert await a.version(product_id) == 2
        print(
            f"\nRedis back from an older snapshot: reads right again {took * 1000:.0f} ms after the "
            f"restart; meanwhile {stale} of {len(seen)} reads served the snapshot's version"
        )
        assert getattr(a.relay, "cache_resets", None) == 1
