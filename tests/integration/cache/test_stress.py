"""Concurrent readers and writers (API and SQL) on a few hot ids across two instances stay consistent."""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass

from psycopg import AsyncConnection

from tests.integration.cache.conftest import Cluster, Instance, eventually, l2_entry

HOT_IDS = 4
SECONDS = 3.0
DELIVERY_BOUND = 0.050
RELAY_BOUND = 0.500


@dataclass(frozen=True)
class Ack:
    """A write acknowledged to its writer."""

    at: float
    product_id: int
    version: int
    bound: float


@dataclass(frozen=True)
class Read:
    """A read: when it began and the version it returned."""

    began: float
    product_id: int
    version: int


async def _reader(
    instance: Instance, ids: list[int], stop: float, reads: list[Read], rng: random.Random
) -> None:
    while time.perf_counter() < stop:
        product_id = rng.choice(ids)
        began = time.perf_counter()
        reads.append(Read(began, product_id, await instance.version(product_id)))
        # An L1 hit never waits on I/O; a real server yields at its socket between requests.
        await asyncio.sleep(0)


async def _api_writer(
    instance: Instance, ids: list[int], stop: float, acks: list[Ack], rng: random.Random
) -> None:
    while time.perf_counter() < stop:
        product_id = rng.choice(ids)
        version = await instance.put(
            product_id, f"{rng.randint(1, 999)}.{rng.randint(0, 99):02d}", rng.randint(0, 50)
        )
        acks.append(Ack(time.perf_counter(), product_id, version, DELIVERY_BOUND))
        await asyncio.sleep(0)


async def _sql_writer(url: str, ids: list[int], stop: float, acks: list[Ack], rng: random.Random) -> None:
    async with await AsyncConnection.connect(url, autocommit=True) as conn:
        while time.perf_counter() < stop:
            product_id = rng.choice(ids)
            cur = await conn.execute(
                "UPDATE products SET stock = stock + 1 WHERE id = %s RETURNING version", (product_id,)
            )
            row = await cur.fetchone()
            assert row is not None
            acks.append(Ack(time.perf_counter(), product_id, int(row[0]), RELAY_BOUND))
            await asyncio.sleep(0.002)


def _stale_reads(reads: list[Read], acks: list[Ack]) -> list[tuple[Read, int]]:
    """Reads older than a version acknowledged more than its bound before the read began."""
    stale = []
    for read in reads:
        required = max(
            (a.version for a in acks if a.product_id == read.product_id and a.at + a.bound <= read.began),
            default=0,
        )
        if read.version < required:
            stale.append((read, required))
    return stale


async def test_hot_ids_under_concurrent_api_and_sql_writes_stay_consistent(cluster: Cluster) -> None:
    """No read is older than a write acked (beyond the bound) before it began; then all tiers agree."""
    a = await cluster.start("a")
    b = await cluster.start("b")
    ids = cluster.insert(HOT_IDS)
    await eventually(cluster.outbox_empty, within=RELAY_BOUND)
    rng = random.Random(20261125)
    reads: list[Read] = []
    acks: list[Ack] = []
    stop = time.perf_counter() + SECONDS
    workers = [_reader(i, ids, stop, reads, random.Random(rng.random())) for i in (a, b) for _ in range(6)]
    workers += [
        _api_writer(i, ids, stop, acks, random.Random(rng.random())) for i in (a, b) for _ in range(2)
    ]
    workers += [
        _sql_writer(cluster.database_url, ids, stop, acks, random.Random(rng.random())) for _ in range(2)
    ]
    await asyncio.gather(*workers)

    stale = _stale_reads(reads, acks)
    api_writes = sum(1 for ack in acks if ack.bound == DELIVERY_BOUND)
    l1_hits = a.stats.l1_hits + b.stats.l1_hits
    l2_hits = a.stats.l2_hits + b.stats.l2_hits
    print(
        f"\nstress {SECONDS:.0f}s on {HOT_IDS} ids: {len(reads)} reads "
        f"({l1_hits} L1 hits, {l2_hits} L2 hits, "
        f"{a.stats.db_reads + b.stats.db_reads} PostgreSQL reads), {api_writes} API writes, "
        f"{len(acks) - api_writes} SQL writes; fills refused L1 "
        f"{a.stats.l1_fills_rejected + b.stats.l1_fills_rejected}, L2 "
        f"{a.stats.l2_fills_rejected + b.stats.l2_fills_rejected}; stale reads beyond the bound: {len(stale)}"
    )
    assert len(reads) > 500
    assert len(acks) > 100
    assert not stale, f"stale reads: {stale[:5]}"

    async def all_agree() -> bool:
        if not await cluster.outbox_empty():
            return False
        for product_id in ids:
            expected = cluster.db_version(product_id)
            for instance in (a, b):
                held = instance.near.peek(product_id)
                if held is not None and held.version != expected:
                    return False
                if await instance.version(product_id) != expected:
                    return False
            stored = await l2_entry(a, product_id)
            if stored is not None and stored.version != expected:
                return False
        return True

    settle = await eventually(all_agree, within=RELAY_BOUND + DELIVERY_BOUND)
    print(f"every L1, L2 and PostgreSQL agree {settle * 1000:.1f} ms after the writes stopped")
