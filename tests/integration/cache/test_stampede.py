"""A burst of concurrent misses on one id costs one PostgreSQL read per instance at most."""

from __future__ import annotations

import asyncio
from typing import Any

from adapters.postgres import PostgresProductRepository
from productcore.model import Product
from tests.integration.cache.conftest import SETTLE, Cluster, Instance, eventually

BURST = 50


class CountingRepository:
    """The real repository, counting reads and holding them until the whole burst has arrived."""

    def __init__(self, inner: PostgresProductRepository) -> None:
        self._inner = inner
        self.reads = 0
        self.release = asyncio.Event()

    async def get(self, product_id: int) -> Product | None:
        """Count, wait for the release, then read PostgreSQL."""
        self.reads += 1
        await self.release.wait()
        return await self._inner.get(product_id)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


async def test_a_burst_of_misses_reads_postgresql_once_per_instance_at_most(cluster: Cluster) -> None:
    """50 concurrent GETs on each of two instances, all missing: single flight plus the L2 lease."""
    counters: list[CountingRepository] = []

    def wrap(inner: PostgresProductRepository) -> CountingRepository:
        counters.append(CountingRepository(inner))
        return counters[-1]

    slow_lease = {"cache_lease_ttl": 10.0, "cache_lease_wait": 10.0}
    a = await cluster.start("a", repository=wrap, **slow_lease)
    b = await cluster.start("b", repository=wrap, **slow_lease)
    [product_id] = cluster.insert()
    await eventually(cluster.outbox_empty, within=SETTLE)

    requests = [
        asyncio.create_task(i.http.get(f"/products/{product_id}")) for i in (a, b) for _ in range(BURST)
    ]

    async def all_arrived() -> bool:
        arrived = [i.stats.l1_misses for i in (a, b)]
        return arrived == [BURST, BURST] and any(c.reads for c in counters)

    await eventually(all_arrived, within=5.0)
    for counter in counters:
        counter.release.set()
    responses = await asyncio.gather(*requests)
    assert all(r.status_code == 200 for r in responses)
    reads = [c.reads for c in counters]
    print(
        f"\n{2 * BURST} concurrent misses on one id over 2 instances: PostgreSQL reads per instance {reads}; "
        f"coalesced in-process {[i.stats.coalesced for i in (a, b)]}; "
        f"waited for the other instance's lease {[i.stats.l2_busy_waits for i in (a, b)]}"
    )
    assert all(r <= 1 for r in reads), "single flight: at most one read per instance"
    assert sum(reads) == 1, "the L2 lease: the other instance waited for the fill instead of reading"
    assert _coalesced(a) + _coalesced(b) == 2 * BURST - 2


def _coalesced(instance: Instance) -> int:
    return instance.stats.coalesced
