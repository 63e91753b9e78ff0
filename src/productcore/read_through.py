"""The cache policy of product reads and writes: L1 -> L2 -> repository, and write-through."""

from __future__ import annotations

import asyncio
from typing import NamedTuple

from productcore.caching import CacheLookup, CacheStats, FillLease, Invalidation, LookupStatus
from productcore.errors import ProductNotFound
from productcore.model import CachedProduct, Product, ProductDocument, encode_product
from productcore.ports import InvalidationBus, NearCache, ProductCache, ProductRepository
from productcore.validation import check_product_id


class _Flight(NamedTuple):
    """One load in progress: the near cache's ticket when it started, and its task."""

    ticket: int
    task: asyncio.Future[ProductDocument]


class ReadThrough:
    """Reads product documents through both cache tiers and writes committed versions through them.

    A read tries L1 (``near``), then L2 (``cache``), then the repository. Concurrent misses of one
    id in this process share one load (single flight); across processes, L2's fill lease lets one
    reader fill while the others wait up to ``lease_wait`` seconds for its fill. A fill is refused
    when an invalidation of a newer version came in after the read began (L1's ticket, L2's lease),
    so stale data is never written back. After a committed write, ``write_through`` updates this
    process's L1, then L2, then tells every instance on the ``bus``.

    Args:
        repository: The system of record.
        cache: The shared, version-consistent cache, or None for no shared caching.
        near: This process's near cache, or None.
        bus: Where invalidations of this process's writes are published, or None.
        stats: Counters to add to.
        lease_wait: Seconds to wait for another reader's fill before reading the repository.
    """

    def __init__(
        self,
        repository: ProductRepository,
        cache: ProductCache | None,
        *,
        near: NearCache | None,
        bus: InvalidationBus | None,
        stats: CacheStats,
        lease_wait: float,
    ) -> None:
        self._repository = repository
        self._cache = cache
        self._near = near
        self._bus = bus
        self.stats = stats
        self._lease_wait = lease_wait
        self._flights: dict[int, _Flight] = {}

    async def read(self, product_id: int) -> ProductDocument:
        """Return one product's JSON document and version, from a cache when it can.

        The id is checked first, so no cache or query ever sees one a product cannot have.

        Raises:
            ProductNotFound: no product has this id.
            InvalidInput: the id is not a positive 64-bit integer.
            ServiceUnavailable: the repository cannot be reached (and no cache had the product).
        """
        check_product_id(product_id)
        near = self._near
        if near is not None:
            cached = near.get(product_id)
            if cached is not None and cached.body is not None:
                self.stats.l1_hits += 1
                return ProductDocument(cached.version, cached.body)
            self.stats.l1_misses += 1
        flight = self._flights.get(product_id)
        if flight is None or (near is not None and near.changed_since(product_id, flight.ticket)):
            flight = self._take_off(product_id)
        else:
            self.stats.coalesced += 1
        return await asyncio.shield(flight.task)

    def ticket(self) -> int:
        """A mark of this moment, taken before a write, for its ``write_through``.

        If L1 forgets what it knew (a flush, a forgotten floor) while the write is under way, a
        newer version may have come and gone, and ``write_through`` then keeps the write out of L1.
        """
        return self._near.ticket() if self._near is not None else 0

    async def write_through(self, product: Product, ticket: int) -> None:
        """After a committed write: store its version in this process's L1, then L2, then publish it."""
        product_id = product.id
        entry = CachedProduct(product.version, encode_product(product))
        # A load that took off before the write may return the old version: later readers
        # must not join it (with L1, ``changed_since`` says so too; without L1 only this does).
        self._flights.pop(product_id, None)
        if self._near is not None:
            self._near.invalidate(product_id, entry.version)
            self._fill_near(product_id, entry, ticket)
        if self._cache is not None:
            await self._cache.written(product_id, entry)
        if self._bus is not None and await self._bus.publish([Invalidation(product_id, entry.version)]):
            self.stats.invalidations_sent += 1

    def _take_off(self, product_id: int) -> _Flight:
        """Start the one load of ``product_id`` that later concurrent readers join."""
        ticket = self.ticket()
        flight = _Flight(ticket, asyncio.ensure_future(self._load(product_id, ticket)))
        self._flights[product_id] = flight

        def landed(task: asyncio.Future[ProductDocument]) -> None:
            if self._flights.get(product_id) is flight:
                del self._flights[product_id]
            if not task.cancelled():
                task.exception()  # retrieved here, so an unawaited failure is not logged as lost

        flight.task.add_done_callback(landed)
        return flight

    async def _load(self, product_id: int, ticket: int) -> ProductDocument:
        """Read L2, else the repository (filling both tiers), as the one load of ``product_id``."""
        lease: FillLease | None = None
        stale_hit = False
        if self._cache is not None:
            lookup = await self._shared_lookup(product_id)
            if lookup.status is LookupStatus.HIT and lookup.entry is not None and lookup.entry.body:
                # An L2 entry older than an invalidation heard here (its write-through was lost) is
                # not served: the repository is read, and L2 repaired by compare-and-set.
                if self._near is None or not self._near.newer_known(product_id, lookup.entry.version):
                    self.stats.l2_hits += 1
                    self._fill_near(product_id, lookup.entry, ticket)
                    return ProductDocument(lookup.entry.version, lookup.entry.body)
                self.stats.l2_stale_hits += 1
                stale_hit = True
            if lookup.status is LookupStatus.ABSENT:
                self.stats.l2_negative_hits += 1
                raise ProductNotFound(product_id)
            if not stale_hit:
                self.stats.l2_misses += 1
            lease = lookup.lease
        entry = await self._read_repository(product_id, lease, repair=stale_hit)
        self._fill_near(product_id, entry, ticket)
        assert entry.body is not None
        return ProductDocument(entry.version, entry.body)

    async def _read_repository(
        self, product_id: int, lease: FillLease | None, *, repair: bool
    ) -> CachedProduct:
        """Read the system of record and fill L2 with what it said (with ``repair``: write it through)."""
        try:
            product = await self._repository.get(product_id)
        except BaseException:
            if lease is not None and self._cache is not None:
                await self._cache.release(product_id, lease)
            raise
        self.stats.db_reads += 1
        if product is None:
            if lease is not None and self._cache is not None:
                await self._cache.fill_absent(product_id, lease)
            raise ProductNotFound(product_id)
        entry = CachedProduct(product.version, encode_product(product))
        if repair and self._cache is not None:
            await self._cache.written(product_id, entry)
        elif (
            lease is not None
            and self._cache is not None
            and not await self._cache.fill(product_id, entry, lease)
        ):
            self.stats.l2_fills_rejected += 1
        return entry

    async def _shared_lookup(self, product_id: int) -> CacheLookup:
        """Look the id up in L2; while another reader holds its fill lease, wait a little for it."""
        assert self._cache is not None
        lookup = await self._cache.lookup(product_id)
        if lookup.status is not LookupStatus.BUSY:
            return lookup
        self.stats.l2_busy_waits += 1
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._lease_wait
        pause = 0.002
        while lookup.status is LookupStatus.BUSY and loop.time() < deadline:
            await asyncio.sleep(min(pause, max(deadline - loop.time(), 0)))
            pause = min(pause * 2, 0.05)
            lookup = await self._cache.lookup(product_id)
        return lookup

    def _fill_near(self, product_id: int, entry: CachedProduct, ticket: int) -> None:
        if self._near is not None and not self._near.fill(product_id, entry, ticket):
            self.stats.l1_fills_rejected += 1
