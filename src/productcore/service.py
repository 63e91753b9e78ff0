"""Use cases of productcore: read one product, read pages, search, change price and stock."""

from __future__ import annotations

import asyncio

import msgspec

from productcore.errors import ProductNotFound
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
from productcore.ports import ProductCache, ProductRepository
from productcore.validation import check_change, check_criteria, check_page_request, check_product_id

_product_decoder = msgspec.json.Decoder(Product)

EXACT_COUNT_LIMIT = 1_000


class ProductService:
    """The product use cases, over any repository and cache that satisfy the ports.

    Args:
        repository: The system of record.
        cache: A version-consistent cache of product documents, or None for no caching.
        exact_count_limit: Filtered totals above this many rows may be estimates.
    """

    def __init__(
        self,
        repository: ProductRepository,
        cache: ProductCache | None = None,
        *,
        exact_count_limit: int = EXACT_COUNT_LIMIT,
    ) -> None:
        self._repository = repository
        self._cache = cache
        self._exact_count_limit = exact_count_limit

    async def get(self, product_id: int) -> Product:
        """Return one product.

        Raises:
            ProductNotFound: no product has this id.
            InvalidInput: the id is not a positive 64-bit integer.
        """
        return _product_decoder.decode((await self.get_document(product_id)).body)

    async def get_document(self, product_id: int) -> ProductDocument:
        """Return one product as its JSON document and version, from the cache when it can."""
        check_product_id(product_id)
        cached = await self._cache.get(product_id) if self._cache is not None else None
        if cached is not None and cached.body is not None:
            return ProductDocument(cached.version, cached.body)
        product = await self._repository.get(product_id)
        if product is None:
            raise ProductNotFound(product_id)
        body = encode_product(product)
        if self._cache is not None:
            await self._cache.fill(product_id, CachedProduct(product.version, body))
        return ProductDocument(product.version, body)

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
        product = await self._repository.update(product_id, change, expected_version=expected_version)
        if self._cache is not None:
            await self._cache.written(product_id, CachedProduct(product.version, encode_product(product)))
        return product

    async def _page(self, criteria: SearchCriteria | None, request: PageRequest) -> Page:
        limit, cursor = request.limit, request.cursor
        if cursor is None:
            number = request.page
            fetch = self._repository.fetch(criteria, request.sort, limit + 1, offset=(number - 1) * limit)
        else:
            number = cursor.page
            fetch = self._repository.fetch(criteria, request.sort, limit + 1, cursor=cursor)
        count = self._repository.count(criteria, exact_up_to=self._exact_count_limit)
        rows, total = await asyncio.gather(fetch, count)
        if cursor is not None and cursor.before:
            has_prev, has_next = len(rows) > limit, True
            rows = rows[-limit:]
        else:
            has_prev, has_next = number > 1, len(rows) > limit
            rows = rows[:limit]
        return Page(
            items=tuple(rows),
            page=number,
            limit=limit,
            sort=request.sort,
            total=total,
            next_cursor=cursor_at(rows[-1], request.sort, before=False, page=number + 1)
            if has_next and rows
            else None,
            prev_cursor=cursor_at(rows[0], request.sort, before=True, page=number - 1)
            if has_prev and rows
            else None,
        )
