"""Use cases of productcore: read one product, read pages, search, change price and stock."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import NamedTuple

import msgspec

from productcore.caching import CacheLookup, CacheStats, FillLease, Invalidation, LookupStatus
from productcore.errors import ProductNotFound, VersionConflict, WriteContention
from productcore.model import (
    CachedProduct,
    Page,
    PageRequest,
    PriceStock,
    Product,
    ProductDocument,
    SearchCriteria,
    encode_product,
)
from productcore.pagination import cursor_at
from productcore.ports import InvalidationBus, NearCache, ProductCache, ProductRepository
from productcore.validation import (
    MAX_PAGE,
    check_change,
    check_criteria,
    check_page_request,
    check_product_id,
)

_product_decoder = msgspec.json.Decoder(Product)

EXACT_COUNT_LIMIT = 1_000
CONDITION_ATTEMPTS = 5
"""Writes ``update_if`` tries while concurrent writers keep moving the version under it."""


class _Flight(NamedTuple):
    """One load in progress: the near cache's ticket when it started, and its task."""

    ticket: int
    task: asyncio.Future[ProductDocument]


class ProductService:
    """The product use cases, over any repository and caches that satisfy the ports.

    Reads go L1 (``near``) -> L2 (``cache``) -> repository. Concurrent misses of one id in this
    process share one load (single flight), and across processes the L2 lease lets one reader
    fill while the others wait up to ``lease_wait`` seconds for its fill. Writes go to the
    repository first, then to this process's L1, then through to L2, then out on the ``bus``.

    Args:
        repository: The system of record.
        cache: The shared, version-consistent cache, or None for no shared caching.
        near: This process's near cache, or None.
        bus: Where invalidations of this process's writes are published, or None.
        stats: Counters to add to (a fresh set when omitted).
        exact_count_limit: Filtered totals above this many rows may be estimates.
        lease_wait: Seconds to wait for another reader's fill before reading the repository.
    """

    def __init__(
        self,
        repository: ProductRepository,
        cache: ProductCache | None = None,
        *,
        near: NearCache | None = None,
        bus: InvalidationBus | None = None,
        stats: CacheStats | None = None,
        exact_count_limit: int = EXACT_COUNT_LIMIT,
        lease_wait: float = 0.5,
    ) -> None:
        self._repository = repository
        self._cache = cache
        self._near = near
        self._bus = bus
        self.stats = stats if stats is not None else CacheStats()
        self._exact_count_limit = exact_count_limit
        self._lease_wait = lease_wait
        self._flights: dict[int, _Flight] = {}

    async def get(self, product_id: int) -> Product:
        """Return one product.

        Raises:
            ProductNotFound: no product has this id.
            InvalidInput: the id is not a positive 64-bit integer.
        """
        return _product_decoder.decode((await self.get_document(product_id)).body)

    async def get_document(self, product_id: int) -> ProductDocument:
        """Return one product as its JSON document and version, from a cache when it can.

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

    def _take_off(self, product_id: int) -> _Flight:
        """Start the one load of ``product_id`` that later concurrent readers join."""
        ticket = self._near.ticket() if self._near is not None else 0
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
        if stale_hit and self._cache is not None:
            await self._cache.written(product_id, entry)
        elif (
            lease is not None
            and self._cache is not None
            and not await self._cache.fill(product_id, entry, lease)
        ):
            self.stats.l2_fills_rejected += 1
        self._fill_near(product_id, entry, ticket)
        assert entry.body is not None
        return ProductDocument(entry.version, entry.body)

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

    async def list_page(self, request: PageRequest) -> Page:
        """Return one page of all products.

        Raises:
            InvalidQuery: page, limit or cursor are out of range or do not fit together.
        """
        check_page_request(request)
        return await self._page(None, request)

    async def search(self, criteria: SearchCriteria, request: PageRequest) -> Page:
        """Return one page of the products matching a name substring and/or a price range.

        Raises:
            InvalidQuery: no criterion, a bad bound, ``min_price > max_price``, or a bad page.
        """
        criteria = check_criteria(criteria)
        check_page_request(request)
        return await self._page(criteria, request)

    async def update(
        self, product_id: int, change: PriceStock, *, expected_version: int | None = None
    ) -> Product:
        """Set a product's price and stock and return it as stored.

        Args:
            product_id: The product to change.
            change: The new price (at most two decimals) and stock.
            expected_version: When given, the write happens only if this is the current version.

        Raises:
            ProductNotFound: no product has this id.
            VersionConflict: ``expected_version`` is not the current version.
            InvalidInput: the id, price or stock is out of range.
        """
        check_product_id(product_id)
        change = check_change(change)
        # Marked before the write: if L1 forgets what it knew (a flush, a forgotten floor) while the
        # write is under way, a newer version may have come and gone, so this one must not be kept.
        ticket = self._near.ticket() if self._near is not None else 0
        product = await self._repository.update(product_id, change, expected_version=expected_version)
        await self._written(product_id, CachedProduct(product.version, encode_product(product)), ticket)
        return product

    async def _written(self, product_id: int, entry: CachedProduct, ticket: int) -> None:
        """Write-through after a committed write: this process's L1, then L2, then the bus."""
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

    async def update_if(
        self, product_id: int, change: PriceStock, condition: Callable[[int], bool]
    ) -> Product:
        """Set price and stock only if ``condition`` holds for the version stored now.

        The version is read from the repository (never a cache), and the write is conditional on
        exactly that version, so a concurrent change cannot slip in between the check and the
        write: the check is then made again against the newer version.

        Args:
            product_id: The product to change.
            change: The new price and stock.
            condition: Whether a write may happen on top of a given current version.

        Raises:
            ProductNotFound: no product has this id.
            VersionConflict: ``condition`` does not hold for the current version.
            WriteContention: ``condition`` held for every version seen, but concurrent writers kept
                changing it for ``CONDITION_ATTEMPTS`` tries (a ``ServiceUnavailable``: retry).
            InvalidInput: the id, price or stock is out of range.
        """
        check_product_id(product_id)
        change = check_change(change)
        current = await self._repository.get(product_id)
        if current is None:
            raise ProductNotFound(product_id)
        version = current.version
        for attempt in range(CONDITION_ATTEMPTS + 1):
            if not condition(version):
                raise VersionConflict(product_id, version, version)
            if attempt == CONDITION_ATTEMPTS:
                break
            try:
                return await self.update(product_id, change, expected_version=version)
            except VersionConflict as conflict:
                version = conflict.current
        raise WriteContention(product_id, CONDITION_ATTEMPTS)

    async def _page(self, criteria: SearchCriteria | None, request: PageRequest) -> Page:
        limit, cursor = request.limit, request.cursor
        number = request.page if cursor is None else cursor.page
        rows, total = await self._repository.page(
            criteria,
            request.sort,
            limit + 1,
            offset=(number - 1) * limit if cursor is None else 0,
            cursor=cursor,
            exact_up_to=self._exact_count_limit,
        )
        if cursor is not None and cursor.before:
            has_prev, has_next = len(rows) > limit, True
            rows = rows[-limit:]
        else:
            has_prev, has_next = number > 1, len(rows) > limit
            rows = rows[:limit]
        # Page numbers of keyset pages are labels: rows inserted or repriced meanwhile can put rows
        # before "page 1" or past the last page number, so the labels stay within what a request
        # may ask for and the links made from them are always accepted.
        return Page(
            items=tuple(rows),
            page=number,
            limit=limit,
            sort=request.sort,
            total=total,
            next_cursor=cursor_at(rows[-1], request.sort, before=False, page=min(number + 1, MAX_PAGE))
            if has_next and rows
            else None,
            prev_cursor=cursor_at(rows[0], request.sort, before=True, page=max(number - 1, 1))
            if has_prev and rows
            else None,
        )
