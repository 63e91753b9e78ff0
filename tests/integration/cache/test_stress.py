"""Concurrent readers and writers (API and SQL) on a few hot ids across two instances stay consistent.

Every bound is counted from the moment the invalidation was out, as a subscriber of this test's own
saw it on the channel: an API write's own message (sent before the write answers), or the relay's
for an SQL change (or for an API write whose message a timing-out Redis dropped). How long the relay
took to get there is printed, not asserted: both instances, the relay and all the load share this
test's one event loop and two cores with whatever else runs, so under load the relay's round trips
each wait for a turn of a busy loop (measured: 1-2 s behind on a loaded machine, 10 ms on an idle
one), which says how loaded the machine is, not whether the caches are right. ``test_delivery.py``
asserts the relay's own bound on an idle loop.
"""

from __future__ import annotations

import asyncio
import gc
import random
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from psycopg import AsyncConnection

from tests.integration.cache.conftest import (
    SETTLE,
    ChannelWatch,
    Cluster,
    Instance,
    Stalls,
    eventually,
    l2_entry,
    percentile,
    watching,
)

HOT_IDS = 4
SECONDS = 3.0
ENOUGH = (500, 100)
"""Reads and writes the run goes on for, past ``SECONDS`` (up to ``LONGEST``), on a slow machine."""
LONGEST = 30.0
DELIVERY_BOUND = 0.050
"""Seconds from an invalidation being published to every instance serving that version or newer."""


class Run:
    """How long the load goes on: ``SECONDS``, and longer on a slow machine until it did ``ENOUGH``."""

    def __init__(self, reads: list[Read], acks: list[Ack]) -> None:
        started = time.perf_counter()
        self.stop, self.longest = started + SECONDS, started + LONGEST
        self._reads, self._acks = reads, acks
        self.took = 0.0

    def going(self) -> bool:
        """Whether workers carry on."""
        now = time.perf_counter()
        enough = len(self._reads) >= ENOUGH[0] and len(self._acks) >= ENOUGH[1]
        return now < self.stop or (not enough and now < self.longest)


@dataclass(frozen=True)
class Ack:
    """A write acknowledged to its writer."""

    at: float
    product_id: int
    version: int
    through_api: bool


@dataclass(frozen=True)
class Read:
    """A read: when it began and the version it returned."""

    began: float
    product_id: int
    version: int


async def _reader(
    instance: Instance, ids: list[int], run: Run, reads: list[Read], rng: random.Random
) -> None:
    while run.going():
        product_id = rng.choice(ids)
        began = time.perf_counter()
        reads.append(Read(began, product_id, await instance.version(product_id)))
        # An L1 hit never waits on I/O; a real server yields at its socket between requests.
        await asyncio.sleep(0)


async def _api_writer(
    instance: Instance, ids: list[int], run: Run, acks: list[Ack], rng: random.Random
) -> None:
    while run.going():
        product_id = rng.choice(ids)
        version = await instance.put(
            product_id, f"{rng.randint(1, 999)}.{rng.randint(0, 99):02d}", rng.randint(0, 50)
        )
        acks.append(Ack(time.perf_counter(), product_id, version, through_api=True))
        await asyncio.sleep(0)


async def _sql_writer(url: str, ids: list[int], run: Run, acks: list[Ack], rng: random.Random) -> None:
    async with await AsyncConnection.connect(url, autocommit=True) as conn:
        while run.going():
            product_id = rng.choice(ids)
            cur = await conn.execute(
                "UPDATE products SET stock = stock + 1 WHERE id = %s RETURNING version", (product_id,)
            )
            row = await cur.fetchone()
            assert row is not None
            acks.append(Ack(time.perf_counter(), product_id, int(row[0]), through_api=False))
            await asyncio.sleep(0.002)


def _out_at(ack: Ack, published: ChannelWatch) -> float:
    """When the invalidation of ``ack`` (or a later one of that id) was first seen on the channel: an
    API write's own message, or the relay's if that was lost (a write publishes before it answers,
    but a Redis that times out drops the message, and then only the relay tells the others)."""
    return published.seen_at(ack.product_id, ack.version)


def _stale_reads(
    reads: list[Read], acks: list[Ack], published: ChannelWatch, stalls: Stalls
) -> list[tuple[Read, int]]:
    """Reads older than a version whose invalidation was out more than the delivery bound (plus the
    loop's stalls since) before the read began."""
    out = [(_out_at(a, published), a) for a in acks]
    stale = []
    for read in reads:
        required = max(
            (
                a.version
                for at, a in out
                if a.product_id == read.product_id
                and at + DELIVERY_BOUND <= read.began
                and at + DELIVERY_BOUND + stalls.between(at, read.began) <= read.began
            ),
            default=0,
        )
        if read.version < required:
            stale.append((read, required))
    return stale


def _describe(stale: list[tuple[Read, int]], acks: list[Ack], published: ChannelWatch) -> str:
    """How late the first few stale reads were, after the invalidation they missed was out."""
    late = []
    for read, required in stale[:3]:
        out = min(
            _out_at(a, published) for a in acks if a.product_id == read.product_id and a.version == required
        )
        late.append(f"v{read.version}<v{required} {(read.began - out) * 1000:.0f} ms after")
    return ", ".join(late) or "none"


@contextmanager
def _frozen_heap() -> Iterator[None]:
    """Move every object alive now out of the collector's sight for the run, so that a full
    collection of what earlier tests left behind does not stall the loop in the middle of it."""
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


async def test_hot_ids_under_concurrent_api_and_sql_writes_stay_consistent(cluster: Cluster) -> None:
    """No read is older than a write acked (beyond the bound) before it began; then all tiers agree."""
    a = await cluster.start("a")
    b = await cluster.start("b")
    ids = cluster.insert(HOT_IDS)
    await eventually(cluster.outbox_empty, within=SETTLE)
    rng = random.Random(20261125)
    reads: list[Read] = []
    acks: list[Ack] = []
    stalls = Stalls()
    async with watching(cluster.redis_url, a.l2.keys.channel) as published:
        run = Run(reads, acks)
        workers = [_reader(i, ids, run, reads, random.Random(rng.random())) for i in (a, b) for _ in range(6)]
        workers += [
            _api_writer(i, ids, run, acks, random.Random(rng.random())) for i in (a, b) for _ in range(2)
        ]
        workers += [
            _sql_writer(cluster.database_url, ids, run, acks, random.Random(rng.random())) for _ in range(2)
        ]
        workers.append(stalls.sample(run.going))
        with _frozen_heap():
            await asyncio.gather(*workers)
        run.took = time.perf_counter() - run.stop + SECONDS
        await eventually(cluster.outbox_empty, within=SETTLE)  # every change relayed: published, pruned

    stale = _stale_reads(reads, acks, published, stalls)
    api_writes = sum(1 for ack in acks if ack.through_api)
    relay_delays = [_out_at(ack, published) - ack.at for ack in acks if not ack.through_api]
    lost = sum(1 for ack in acks if _out_at(ack, published) == float("inf"))
    l1_hits = a.stats.l1_hits + b.stats.l1_hits
    l2_hits = a.stats.l2_hits + b.stats.l2_hits
    print(
        f"\nstress {run.took:.1f}s on {HOT_IDS} ids: {len(reads)} reads "
        f"({l1_hits} L1 hits, {l2_hits} L2 hits, "
        f"{a.stats.db_reads + b.stats.db_reads} PostgreSQL reads), {api_writes} API writes, "
        f"{len(acks) - api_writes} SQL writes; fills refused L1 "
        f"{a.stats.l1_fills_rejected + b.stats.l1_fills_rejected}, L2 "
        f"{a.stats.l2_fills_rejected + b.stats.l2_fills_rejected}; Redis errors "
        f"{a.stats.l2_errors + b.stats.l2_errors}, stale L2 hits not served "
        f"{a.stats.l2_stale_hits + b.stats.l2_stale_hits}; "
        f"stale reads beyond the bound: {len(stale)} ({_describe(stale, acks, published)}); "
        f"longest event-loop stall {max(stalls.lag, default=0) * 1000:.0f} ms; relay published SQL "
        f"changes after p50 {percentile(relay_delays, 0.5) * 1000:.0f} ms, "
        f"max {max(relay_delays) * 1000:.0f} ms"
    )
    assert len(reads) >= ENOUGH[0] and len(acks) >= ENOUGH[1], "the machine was too slow to test anything"
    assert not lost, f"{lost} writes never reached the invalidation channel"
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

    settle = await eventually(all_agree, within=SETTLE)
    print(f"every L1, L2 and PostgreSQL agree {settle * 1000:.1f} ms after the writes stopped")
