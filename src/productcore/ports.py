"""What the core needs from the outside world, as structural protocols."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import msgspec

from productcore.model import CachedProduct, Cursor, PriceStock, Product, SearchCriteria, Sort, Total


@runtime_checkable
class ProductRepository(Protocol):
    """The system of record for products."""

    async def get(self, product_id: int) -> Product | None:
        """Return the product with this id, or None."""
        ...

    async def fetch(
        self,
        criteria: SearchCriteria | None,
        sort: Sort,
        limit: int,
        *,
        offset: int = 0,
        cursor: Cursor | None = None,
    ) -> list[Product]:
        """Return up to ``limit`` products in ``sort`` order.

        Without a cursor, rows start at ``offset``; with one, they are the rows strictly after
        the cursor's position, or, for a ``before`` cursor, the ``limit`` rows just before it
        (still returned in ``sort`` order). ``criteria`` of None means every product.
        """
        ...

    async def count(self, criteria: SearchCriteria | None, *, exact_up_to: int) -> Total:
        """Count matching products; counts above ``exact_up_to`` may be estimates (flagged)."""
        ...

    async def update(self, product_id: int, change: PriceStock, *, expected_version: int | None) -> Product:
        """Apply a change atomically and return the product as stored after it.

        Raises ProductNotFound, or VersionConflict when ``expected_version`` is given and the
        stored version differs.
        """
        ...


@runtime_checkable
class ProductCache(Protocol):
    """A cache of product documents keyed by id, consistent by version."""

    async def get(self, product_id: int) -> CachedProduct | None:
        """Return the cached entry (a tombstone has no body), or None on a miss."""
        ...

    async def fill(self, product_id: int, entry: CachedProduct) -> None:
        """Store an entry read from the repository, unless the cache knows a newer version."""
        ...

    async def written(self, product_id: int, entry: CachedProduct) -> None:
        """Record a write this process made: store the new version and tell other instances."""
        ...


class HealthStatus(msgspec.Struct, frozen=True):
    """The outcome of one readiness check, with details worth showing an operator."""

    name: str
    ok: bool
    details: dict[str, object] = msgspec.field(default_factory=dict)


@runtime_checkable
class HealthCheck(Protocol):
    """Something the service needs in order to be ready (a database, a cache, a relay)."""

    async def check(self) -> HealthStatus:
        """Report whether the dependency works now; never raise."""
        ...
