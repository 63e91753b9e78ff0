"""A reader that read version v before a write of v+1 cannot store v in L1 or L2 afterwards."""

from __future__ import annotations

import asyncio
from typing import Any

from adapters.postgres import PostgresProductRepository
from productcore.model import Product
from tests.integration.cache.conftest import SETTLE, Cluster, Instance, eventually, l2_entry


class GatedRepository:
    """The real repository, except that a read of a gated id pauses after PostgreSQL answered."""

    def __init__(self, inner: PostgresProductRepository) -> None:
        self._inner = inner
        self.gated: set[int] = set()
        self.read_done = asyncio.Event()
        self.proceed = asyncio.Event()

    async def get(self, product_id: int) -> Product | None:
        """Read from PostgreSQL; for a gated id, signal and wait before handing the row back."""
        product = await self._inner.get(product_id)
        if product_id in self.gated:
            self.gated.discard(product_id)
            self.read_done.set()
            await self.proceed.wait()
        return product

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


async def _start_gated(cluster: Cluster) -> tuple[Instance, GatedRepository]:
    gates: list[GatedRepository] = []

    def wrap(inner: PostgresProductRepository) -> GatedRepository:
        gates.append(GatedRepository(inner))
        return gates[-1]

    reader = await cluster.start("reader", repository=wrap)
    return reader, gates[0]


async def _read_paused_after_db(
    reader: Instance, gate: GatedRepository, product_id: int
) -> asyncio.Task[int]:
    gate.gated.add(product_id)
    task = asyncio.create_task(reader.version(product_id))
    await asyncio.wait_for(gate.read_done.wait(), 5)
    return task


async def test_a_read_from_before_an_api_write_cannot_fill_either_tier(cluster: Cluster) -> None:
    """Reader reads v, a PUT via another instance makes v+1: the reader's fills are refused."""
    reader, gate = await _start_gated(cluster)
    writer = await cluster.start("writer")
    [product_id] = cluster.insert()
    await eventually(cluster.outbox_empty, within=SETTLE)

    pending = await _read_paused_after_db(reader, gate, product_id)
    applied = reader.stats.invalidations_applied
    new = await writer.put(product_id, "99.99", 1)

    async def reader_heard() -> bool:
        return reader.stats.invalidations_applied > applied

    await eventually(reader_heard, within=SETTLE)
    gate.proceed.set()
    assert await pending == new - 1, "the read began before the write, so it may return v"

    assert reader.stats.l2_fills_rejected == 1, "L2 refused the stale fill"
    assert reader.stats.l1_fills_rejected == 1, "L1 refused the stale fill"
    stored = await l2_entry(reader, product_id)
    assert stored is not None
    assert stored.version == new
    held = reader.near.peek(product_id)
    assert held is None or held.version == new
    assert await reader.version(product_id) == new


async def test_a_read_from_before_an_sql_write_cannot_fill_even_after_eviction(cluster: Cluster) -> None:
    """Reader reads v, SQL makes v+1, the relay tombstones it, the key is evicted: the fill is refused."""
    reader, gate = await _start_gated(cluster)
    [product_id] = cluster.insert()
    await eventually(cluster.outbox_empty, within=SETTLE)

    pending = await _read_paused_after_db(reader, gate, product_id)
    applied = reader.stats.invalidations_applied
    cluster.sql("UPDATE products SET price = 42.00 WHERE id = %s", (product_id,))
    new = cluster.db_version(product_id)

    async def tombstoned_and_heard() -> bool:
        stored = await l2_entry(reader, product_id)
        tombstoned = stored is not None and stored.version == new and stored.body is None
        return tombstoned and reader.stats.invalidations_applied > applied

    await eventually(tombstoned_and_heard, within=SETTLE)
    await reader.l2._client.delete(reader.l2.keys.entry(product_id))  # as LRU eviction or a TTL would
    gate.proceed.set()
    assert await pending == new - 1

    assert reader.stats.l2_fills_rejected == 1, "the relay's tombstone revoked the reader's fill lease"
    assert reader.stats.l1_fills_rejected == 1
    assert await l2_entry(reader, product_id) is None, "nothing stale was written back"
    assert reader.near.peek(product_id) is None
    assert await reader.version(product_id) == new
    stored = await l2_entry(reader, product_id)
    assert stored is not None
    assert stored.version == new


async def test_a_read_from_before_a_write_cannot_fill_the_writers_l1(cluster: Cluster) -> None:
    """On the writer's own instance: a concurrent reader's older version never replaces the write in L1."""
    reader, gate = await _start_gated(cluster)
    [product_id] = cluster.insert()
    await eventually(cluster.outbox_empty, within=SETTLE)

    pending = await _read_paused_after_db(reader, gate, product_id)
    new = await reader.put(product_id, "5.00", 9)
    gate.proceed.set()
    await pending
    held = reader.near.peek(product_id)
    assert held is not None
    assert held.version == new
    assert await reader.version(product_id) == new
