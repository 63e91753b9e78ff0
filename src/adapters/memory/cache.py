"""A cache that holds nothing: every read is a miss and every write is dropped."""

from __future__ import annotations

from productcore.model import CachedProduct


class NullProductCache:
    """The ``ProductCache`` to use when no cache is configured."""

    async def get(self, product_id: int) -> CachedProduct | None:
        """Always miss."""
        return None

    async def fill(self, product_id: int, entry: CachedProduct) -> None:
        """Drop the entry."""

    async def written(self, product_id: int, entry: CachedProduct) -> None:
        """Drop the entry."""
