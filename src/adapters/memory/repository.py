"""A dict-backed ``ProductRepository`` with the same ordering and versioning as PostgreSQL."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from decimal import Decimal

import msgspec

from productcore.errors import ProductNotFound, VersionConflict
from productcore.model import Cursor, PriceStock, Product, SearchCriteria, Sort, Total


def _matches(product: Product, criteria: SearchCriteria | None) -> bool:
    if criteria is None:
        return True
    if criteria.name is not None and criteria.name.casefold() not in product.name.casefold():
        return False
    if criteria.min_price is not None and product.price < criteria.min_price:
        return False
    return criteria.max_price is None or product.price <= criteria.max_price


def _key(product: Product, sort: Sort) -> tuple[Decimal | str | int, int]:
    value: Decimal | str | int = getattr(product, sort.column)
    return (value, product.id)


def _cursor_key(cursor: Cursor) -> tuple[Decimal | str | int, int]:
    key = Decimal(cursor.key) if cursor.sort.column == "price" else cursor.key
    return (key, cursor.id)


class InMemoryProductRepository:
    """Products in a dict; ``add`` creates them as an insert would."""

    def __init__(self, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._products: dict[int, Product] = {}
        self._ids = itertools.count(1)
        self._clock = clock

    def add(self, name: str, price: Decimal, stock: int, description: str | None = None) -> Product:
        """Create a product with the next id at version 1."""
        now = self._clock()
        product = Product(
            id=next(self._ids),
            name=name,
            description=description,
            price=price,
            stock=stock,
            version=1,
            created_at=now,
            updated_at=now,
        )
        self._products[product.id] = product
        return product

    def add_many(self, rows: Iterable[tuple[str, Decimal, int]]) -> list[Product]:
        """Create several products, in order."""
        return [self.add(name, price, stock) for name, price, stock in rows]

    async def get(self, product_id: int) -> Product | None:
        """Return the product, or None."""
        return self._products.get(product_id)

    async def fetch(
        self,
        criteria: SearchCriteria | None,
        sort: Sort,
        limit: int,
        *,
        offset: int = 0,
        cursor: Cursor | None = None,
    ) -> list[Product]:
        """Filter, order by ``(sort key, id)`` and cut a window, as the SQL adapter does."""
        rows = sorted(
            (p for p in self._products.values() if _matches(p, criteria)),
            key=lambda p: _key(p, sort),
            reverse=sort.descending,
        )
        if cursor is None:
            return rows[offset : offset + limit]
        bound = _cursor_key(cursor)
        if cursor.partial and cursor.id in self._products:
            bound = (self._products[cursor.id].name, cursor.id)
        if cursor.before:
            earlier = [
                p for p in rows if (_key(p, sort) > bound if sort.descending else _key(p, sort) < bound)
            ]
            return earlier[-limit:]
        later = [p for p in rows if (_key(p, sort) < bound if sort.descending else _key(p, sort) > bound)]
        return later[:limit]

    async def count(self, criteria: SearchCriteria | None, *, exact_up_to: int) -> Total:
        """Count exactly: memory is cheap to scan."""
        return Total(sum(1 for p in self._products.values() if _matches(p, criteria)), exact=True)

    async def page(
        self,
        criteria: SearchCriteria | None,
        sort: Sort,
        limit: int,
        *,
        offset: int = 0,
        cursor: Cursor | None = None,
        exact_up_to: int,
    ) -> tuple[list[Product], Total]:
        """``fetch`` and ``count``."""
        rows = await self.fetch(criteria, sort, limit, offset=offset, cursor=cursor)
        return rows, await self.count(criteria, exact_up_to=exact_up_to)

    async def update(self, product_id: int, change: PriceStock, *, expected_version: int | None) -> Product:
        """Apply the change and bump the version, or raise as the port says."""
        current = self._products.get(product_id)
        if current is None:
            raise ProductNotFound(product_id)
        if expected_version is not None and expected_version != current.version:
            raise VersionConflict(product_id, expected_version, current.version)
        updated = msgspec.structs.replace(
            current,
            price=change.price,
            stock=change.stock,
            version=current.version + 1,
            updated_at=self._clock(),
        )
        self._products[product_id] = updated
        return updated
