"""The read-through cache policy on its own, over in-memory fakes: tiers, leases, flights, write-through."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest

from adapters.memory import InMemoryBus, InMemoryProductCache, InMemoryProductRepository, LruNearCache
from productcore.caching import CacheStats, LookupStatus
from productcore.errors import InvalidInput, ProductNotFound, ServiceUnavailable
from productcore.model import PriceStock, Product
from productcore.read_through import ReadThrough


class Repository(InMemoryProductRepository):
    """The in-memory repository, counting reads; optionally failing them or pausing after them."""

    def __init__(self) -> None:
        super().__init__()
        self.reads = 0
        self.failing = False
        self.gate: asyncio.Event | None = None
        self.read_done = asyncio.Event()

    async def get(self, product_id: int) -> Product | None:
        """Read (or fail as an unreachable database would), then wait at the gate if one is set."""
        self.reads += 1
        if self.failing:
            raise ServiceUnavailable("the database cannot be reached")
        product = await super().get(product_id)
        self.read_done.set()
        if self.gate is not None:
            await self.gate.wait()
        return product


class Tiers:
    """One repository, one shared cache and one bus, and a read-through per instance over them."""

    def __init__(self, *, lease_wait: float = 1.0) -> None:
        self.repository = Repository()
        self.shared = InMemoryProductCache()
        self.near = LruNearCache(100, 30)
        self.bus = InMemoryBus(self.near)
        self.reads = self.instance(self.near, lease_wait=lease_wait)

    def instance(self, near: LruNearCache | None, *, lease_wait: float = 1.0) -> ReadThrough:
        return ReadThrough(
            self.repository, self.shared, near=near, bus=self.bus, stats=CacheStats(), lease_wait=lease_wait
        )

    def add(self) -> Product:
        return self.repository.add("Lamp", Decimal("10.00"), 3)

    async def change(self, product: Product, reads: ReadThrough) -> Product:
        """Write a new version to the repository and through the caches, as the update use case does."""
        ticket = reads.ticket()
        written = await self.repository.update(
            product.id, PriceStock(Decimal("11.00"), 1), expected_version=None
        )
        await reads.write_through(written, ticket)
        return written


async def test_a_read_fills_both_tiers_and_the_next_one_hits_l1() -> None:
    """Repository on the first read, L1 on the second; L2 holds the same document."""
    tiers = Tiers()
    product = tiers.add()
    first = await tiers.reads.read(product.id)
    second = await tiers.reads.read(product.id)
    assert first == second and first.version == 1
    assert tiers.shared.entries[product.id].body == first.body
    assert (tiers.reads.stats.db_reads, tiers.reads.stats.l2_misses, tiers.reads.stats.l1_hits) == (1, 1, 1)


async def test_an_id_no_product_can_have_is_refused_before_any_cache_is_asked() -> None:
    """Zero and ids past 64 bits raise InvalidInput; no tier, lease or query saw them."""
    tiers = Tiers()
    for bad in (0, -1, 2**63):
        with pytest.raises(InvalidInput):
            await tiers.reads.read(bad)
    assert tiers.repository.reads == 0 and tiers.reads.stats.l1_misses == 0
    assert tiers.shared.entries == {} and tiers.shared.absent == {}


async def test_a_failed_repository_read_gives_the_lease_back() -> None:
    """The read fails as the database does; the next reader gets a lease at once instead of waiting."""
    tiers = Tiers()
    product = tiers.add()
    tiers.repository.failing = True
    with pytest.raises(ServiceUnavailable):
        await tiers.reads.read(product.id)
    assert (await tiers.shared.lookup(product.id)).status is LookupStatus.MISS


async def test_a_reader_waits_for_a_lease_only_up_to_lease_wait() -> None:
    """Another instance's lease outlives ``lease_wait``: this reader stops waiting and reads itself."""
    tiers = Tiers(lease_wait=0.05)
    product = tiers.add()
    taken = await tiers.shared.lookup(product.id)
    assert taken.lease is not None, "another instance holds the fill lease and never fills"
    document = await tiers.reads.read(product.id)
    assert document.version == 1
    assert tiers.reads.stats.l2_busy_waits == 1 and tiers.repository.reads == 1


async def test_a_cancelled_reader_does_not_cancel_the_load_others_joined() -> None:
    """Two readers share one load; cancelling the first leaves the second its document."""
    tiers = Tiers()
    product = tiers.add()
    gate = tiers.repository.gate = asyncio.Event()
    first = asyncio.create_task(tiers.reads.read(product.id))
    await tiers.repository.read_done.wait()
    second = asyncio.create_task(tiers.reads.read(product.id))
    await asyncio.sleep(0)
    first.cancel()
    gate.set()
    assert (await second).version == 1
    assert first.cancelled() and tiers.repository.reads == 1 and tiers.reads.stats.coalesced == 1


async def test_a_read_after_write_through_does_not_join_a_load_from_before_the_write() -> None:
    """Without L1 to track invalidations, write-through alone keeps later readers off the old load."""
    tiers = Tiers()
    product = tiers.add()
    reads = tiers.instance(None)
    gate = tiers.repository.gate = asyncio.Event()
    early = asyncio.create_task(reads.read(product.id))
    await tiers.repository.read_done.wait()
    tiers.repository.gate = None
    written = await tiers.change(product, reads)
    assert (await reads.read(product.id)).version == written.version == 2
    gate.set()
    assert (await early).version == 1
    assert tiers.shared.entries[product.id].version == 2, "the old load's fill was refused"


async def test_write_through_updates_every_tier_and_counts_only_delivered_invalidations() -> None:
    """L1 and L2 hold the written version at once; a bus that is down is not counted as sent."""
    tiers = Tiers()
    product = tiers.add()
    await tiers.reads.read(product.id)
    written = await tiers.change(product, tiers.reads)
    cached = tiers.near.peek(product.id)
    assert cached is not None and cached.version == written.version
    assert tiers.shared.entries[product.id].version == written.version
    assert tiers.reads.stats.invalidations_sent == 1
    tiers.bus.up = False
    await tiers.change(written, tiers.reads)
    assert tiers.reads.stats.invalidations_sent == 1


async def test_without_caches_every_read_goes_to_the_repository() -> None:
    """No L1, no L2, no bus: reads are repository reads and write-through is a no-op."""
    repository = Repository()
    product = repository.add("Desk", Decimal("99.00"), 1)
    reads = ReadThrough(repository, None, near=None, bus=None, stats=CacheStats(), lease_wait=0.5)
    await reads.read(product.id)
    await reads.write_through(product, reads.ticket())
    await reads.read(product.id)
    assert repository.reads == 2 and reads.stats.db_reads == 2
    with pytest.raises(ProductNotFound):
        await reads.read(product.id + 1)
