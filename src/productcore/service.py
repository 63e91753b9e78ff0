"""Use cases of productcore: read one product, read pages, search, change price and stock."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import msgspec

from productcore.caching import CacheStats
from productcore.errors import ProductNotFound, VersionConflict, WriteContention
from productcore.model import Page, PageRequest, PriceStock, Product, ProductDocument, SearchCriteria
from productcore.pagination import cursor_at
from productcore.ports import InvalidationBus, NearCache, ProductCache, ProductRepository
from productcore.read_through import ReadThrough
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


class ProductService:
    """The product use cases, over any repository and caches that satisfy the ports.

    Reads of one product go through the caches and writes through them, by the policy of
    ``ReadThrough`` (``productcore/read_through.py``); pages and searches read the repository.

    Args:
        repository: The system of record.
        cache: The shared, version-consistent cache, or None for no shared caching.
        near: This process's near cache, or None.
        bus: Where invalidations of this process's writes are published, or None.
        stats: Counters to add to (a fresh set when omitted).
        exact_count_limit: Filtered totals above this many rows may be estimates.
        lease_wait: Seconds to wait for another reader's fill before reading the repository.
    """

    get_document: Callable[[int], Awaitable[ProductDocument]]
    """Return one product as its JSON document and version, from a cache when it can.

    This is ``ReadThrough.read`` itself (no call in between: it is the hot path of a cached GET).

    Raises:
        ProductNotFound: no product has this id.
        InvalidInput: the id is not a positive 64-bit integer.
        ServiceUnavailable: the repository cannot be reached (and no cache had the product).
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
        self.stats = stats if stats is not None else CacheStats()
        self._exact_count_limit = exact_count_limit
        self._cached = ReadThrough(
            repository, cache, near=near, bus=bus, stats=self.stats, lease_wait=lease_wait
        )
        self.get_document = self._cached.read

    async def get(self, product_id: int) -> Product:
        """Return one product.

        Raises:
            ProductNotFound: no product has this id.
            InvalidInput: the id is not a positive 64-bit integer.
        """
        return _product_decoder.decode((await self.get_document(product_id)).body)

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
        ticket = self._cached.ticket()
        product = await self._repository.update(product_id, change, expected_version=expected_version)
        await self._cached.write_through(product, ticket)
        return product

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
