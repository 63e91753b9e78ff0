"""The service's cache policy, through its use cases: tiers, write-through, races, single flight, leases."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest

from adapters.memory import InMemoryBus, InMemoryProductCache, InMemoryProductRepository, LruNearCache
from productcore.caching import Change, ChangeKind, LookupStatus
from productcore.errors import ProductNotFound, ServiceUnavailable
from productcore.invalidation import ChangeRelay
from productcore.model import CachedProduct, PriceStock, Product
from productcore.service import ProductService


class Repository(InMemoryProductRepository):
    """The in-memory repository, counting reads, optionally pausing them after the read."""

    def __init__(self) -> None:
        super().__init__()
        self.reads = 0
        self.gate: asyncio.Event | None = None
        self.read_done = asyncio.Event()

    async def get(self, product_id: int) -> Product | None:
        """Read, then wait at the gate if one is set."""
        self.reads += 1
        product = await super().get(product_id)
        self.read_done.set()
        if self.gate is not None:
            await self.gate.wait()
        return product


class World:
    """Two instances (own L1 each) over one repository, one shared cache and one bus."""

    def __init__(self) -> None:
        self.repository = Repository()
        self.shared = InMemoryProductCache()
        self.near_a, self.near_b = LruNearCache(100, 30), LruNearCache(100, 30)
        self.bus = InMemoryBus(self.near_a, self.near_b)
        self.a = self.service(self.near_a)
        self.b = self.service(self.near_b)

    def service(self, near: LruNearCache) -> ProductService:
        return ProductService(self.repository, self.shared, near=near, bus=self.bus, lease_wait=1.0)

    def add(self) -> Product:
        return self.repository.add("Lamp", Decimal("10.00"), 3)


async def test_reads_go_l1_then_l2_then_the_repository() -> None:
    """The first read fills both tiers; the same instance then hits L1, another instance hits L2."""
    world = World()
    product = world.add()
    assert (await world.a.get_document(product.id)).version == 1
    assert world.repository.reads == 1
    await world.a.get_document(product.id)
    assert world.a.stats.l1_hits == 1
    await world.b.get_document(product.id)
    assert world.b.stats.l2_hits == 1
    assert world.repository.reads == 1


async def test_a_write_goes_through_to_l2_and_invalidates_other_instances() -> None:
    """After A's update returns, B's next read shows the new version."""
    world = World()
    product = world.add()
    await world.b.get_document(product.id)
    await world.a.update(product.id, PriceStock(Decimal("12.00"), 1))
    assert world.near_b.get(product.id) is None
    assert world.shared.entries[product.id].version == 2
    assert (await world.b.get(product.id)).price == Decimal("12.00")
    assert world.a.stats.invalidations_sent == 1


async def test_a_read_from_before_a_write_cannot_fill_either_tier() -> None:
    """Reader reads v, a write of v+1 lands and is evicted from L2: the reader's fills of v are refused."""
    world = World()
    product = world.add()
    gate = world.repository.gate = asyncio.Event()
    reading = asyncio.create_task(world.b.get_document(product.id))
    await world.repository.read_done.wait()
    await world.a.update(product.id, PriceStock(Decimal("1.00"), 1))
    world.shared.evict(product.id)
    gate.set()
    assert (await reading).version == 1
    assert world.b.stats.l2_fills_rejected == 1
    assert world.b.stats.l1_fills_rejected == 1
    assert product.id not in world.shared.entries
    assert world.near_b.get(product.id) is None
    world.repository.gate = None
    assert (await world.b.get_document(product.id)).version == 2


async def test_concurrent_misses_in_one_instance_read_the_repository_once() -> None:
    """Single flight: twenty concurrent reads of one id, one repository read."""
    world = World()
    product = world.add()
    gate = world.repository.gate = asyncio.Event()
    readers = [asyncio.create_task(world.a.get_document(product.id)) for _ in range(20)]
    await world.repository.read_done.wait()
    await asyncio.sleep(0)
    gate.set()
    documents = await asyncio.gather(*readers)
    assert {d.version for d in documents} == {1}
    assert world.repository.reads == 1
    assert world.a.stats.coalesced == 19


async def test_a_reader_arriving_after_an_invalidation_does_not_join_an_older_load() -> None:
    """A load that began before an invalidation is not shared with readers who arrive after it."""
    world = World()
    product = world.add()
    gate = world.repository.gate = asyncio.Event()
    early = asyncio.create_task(world.b.get_document(product.id))
    await world.repository.read_done.wait()
    world.repository.gate = None
    await world.a.update(product.id, PriceStock(Decimal("2.00"), 2))
    late = await world.b.get_document(product.id)
    assert late.version == 2
    gate.set()
    assert (await early).version == 1


async def test_another_instance_waits_for_the_lease_holders_fill() -> None:
    """Across instances the L2 lease makes the second instance wait instead of reading the repository."""
    world = World()
    product = world.add()
    gate = world.repository.gate = asyncio.Event()
    first = asyncio.create_task(world.a.get_document(product.id))
    await world.repository.read_done.wait()
    second = asyncio.create_task(world.b.get_document(product.id))
    await asyncio.sleep(0.01)
    assert (await world.shared.lookup(product.id)).status is LookupStatus.BUSY
    gate.set()
    assert (await first).version == (await second).version == 1
    assert world.repository.reads == 1
    assert world.b.stats.l2_busy_waits == 1


async def test_unknown_ids_are_remembered_until_products_are_added() -> None:
    """A negative entry answers the second miss; an insert generation makes it stale."""
    world = World()
    with pytest.raises(ProductNotFound):
        await world.a.get_document(7)
    with pytest.raises(ProductNotFound):
        await world.b.get_document(7)
    assert world.repository.reads == 1
    await world.shared.ids_added()
    with pytest.raises(ProductNotFound):
        await world.b.get_document(7)
    assert world.repository.reads == 2


async def test_the_relay_tombstones_and_broadcasts_changes() -> None:
    """An out-of-band change: L2 gets a tombstone, every L1 drops the old version."""
    world = World()
    product = world.add()
    await world.a.get_document(product.id)
    await world.repository.update(product.id, PriceStock(Decimal("3.00"), 0), expected_version=None)
    relay = ChangeRelay(world.shared, world.bus, world.a.stats)
    await relay.apply([Change(1, ChangeKind.UPDATE, product.id, 2)])
    assert world.shared.entries[product.id].body is None
    assert world.near_a.get(product.id) is None
    assert (await world.a.get_document(product.id)).version == 2
    world.bus.up = False
    with pytest.raises(ServiceUnavailable):
        await relay.apply([Change(2, ChangeKind.UPDATE, product.id, 3)])


async def test_without_a_shared_cache_reads_and_writes_still_work() -> None:
    """No L2, no bus: the service reads the repository and keeps its L1 right by its own writes."""
    repository = Repository()
    product = repository.add("Desk", Decimal("99.00"), 1)
    service = ProductService(repository, near=LruNearCache(10, 30))
    assert (await service.get_document(product.id)).version == 1
    await service.update(product.id, PriceStock(Decimal("98.00"), 1))
    assert (await service.get_document(product.id)).version == 2


class PausedWrites(Repository):
    """The repository, pausing each update after it committed and before the service sees it."""

    def __init__(self) -> None:
        super().__init__()
        self.committed = asyncio.Event()
        self.resume = asyncio.Event()

    async def update(
        self, product_id: int, change: PriceStock, *, expected_version: int | None = None
    ) -> Product:
        """Commit, then wait."""
        product = await super().update(product_id, change, expected_version=expected_version)
        self.committed.set()
        await self.resume.wait()
        return product


async def test_a_write_does_not_fill_l1_if_l1_forgot_what_came_after_it() -> None:
    """API write commits v2; an SQL write makes v3 and its invalidation arrives; L1 then forgets
    that floor (here: a flush) before the API write's coroutine resumes: v2 must not enter L1."""
    repository = PausedWrites()
    product = repository.add("Lamp", Decimal("10.00"), 3)
    near = LruNearCache(100, 30)
    service = ProductService(repository, near=near)
    write = asyncio.create_task(service.update(product.id, PriceStock(Decimal("11.00"), 1)))
    await repository.committed.wait()
    repository.resume.set()
    repository.committed.clear()
    newer = await InMemoryProductRepository.update(
        repository, product.id, PriceStock(Decimal("12.00"), 1), expected_version=None
    )
    near.invalidate(product.id, newer.version)
    near.flush()
    assert (await write).version == 2
    cached = near.peek(product.id)
    assert cached is None or cached.version >= newer.version
    assert (await service.get(product.id)).version == newer.version


async def test_without_l1_a_read_after_a_write_does_not_join_a_load_from_before_it() -> None:
    """No L1 to track invalidations: a read that starts after the write returned must still not
    be handed the older version a load already in flight is bringing back."""
    world = World()
    product = world.add()
    service = ProductService(world.repository, world.shared, lease_wait=1.0)
    gate = world.repository.gate = asyncio.Event()
    early = asyncio.create_task(service.get_document(product.id))
    await world.repository.read_done.wait()  # the load read version 1 and is held
    world.repository.gate = None
    written = await service.update(product.id, PriceStock(Decimal("13.00"), 2))
    late = await service.get_document(product.id)
    assert late.version == written.version == 2
    gate.set()
    assert (await early).version == 1


class _LosingWrites(InMemoryProductCache):
    """A shared cache that loses the next ``losing`` write-throughs (as when Redis times out on them)."""

    losing = 0

    async def written(self, product_id: int, entry: CachedProduct) -> bool:
        """Drop the entry while losing, else store it by compare-and-set."""
        if self.losing:
            self.losing -= 1
            return False
        return await super().written(product_id, entry)


async def test_an_l2_entry_older_than_an_invalidation_heard_is_not_served() -> None:
    """A's write-through to L2 is lost but its invalidation reaches B: B does not serve L2's older
    entry (it reads the repository) and repairs L2 by compare-and-set."""
    world = World()
    world.shared = _LosingWrites()
    world.a, world.b = world.service(world.near_a), world.service(world.near_b)
    product = world.add()
    assert (await world.b.get_document(product.id)).version == 1
    world.near_b.flush()  # B's L1 no longer holds it (evicted, expired): B will look in L2
    world.shared.losing = 1
    await world.a.update(product.id, PriceStock(Decimal("11.00"), 4))
    assert world.shared.entries[product.id].version == 1, "the write-through was lost"
    assert (await world.b.get_document(product.id)).version == 2
    assert world.b.stats.l2_stale_hits == 1
    assert world.shared.entries[product.id].version == 2, "L2 repaired"
