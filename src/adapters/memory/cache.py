"""In-process stand-ins for the shared cache and the invalidation bus, and the null cache."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Sequence

from productcore.caching import CacheLookup, FillLease, Invalidation, LookupStatus
from productcore.model import CachedProduct
from productcore.ports import NearCache


class NullProductCache:
    """The ``ProductCache`` to use when no cache is configured: every lookup misses, no leases."""

    async def lookup(self, product_id: int) -> CacheLookup:
        """Always miss, without a lease (nothing would be stored)."""
        return CacheLookup(LookupStatus.MISS)

    async def fill(self, product_id: int, entry: CachedProduct, lease: FillLease) -> bool:
        """Drop the entry."""
        return False

    async def fill_absent(self, product_id: int, lease: FillLease) -> bool:
        """Drop the entry."""
        return False

    async def release(self, product_id: int, lease: FillLease) -> None:
        """There are no leases."""

    async def written(self, product_id: int, entry: CachedProduct) -> bool:
        """Drop the entry."""
        return False

    async def tombstone(self, marks: Sequence[Invalidation]) -> None:
        """Nothing is cached, so nothing can be stale."""

    async def ids_added(self) -> None:
        """Nothing is cached."""

    async def clear(self) -> None:
        """Nothing is cached."""

    async def relayed(self, position: int) -> None:
        """Nothing is cached."""

    async def relayed_through(self, position: int) -> bool:
        """Nothing is cached, so nothing was missed."""
        return True

    async def forget_all(self) -> None:
        """Nothing is cached."""


def _newer(current: CachedProduct | None, version: int, *, with_body: bool) -> bool:
    """Whether a write of ``version`` may replace ``current`` (the compare-and-set rule)."""
    if current is None:
        return True
    if version != current.version:
        return version > current.version
    return with_body and current.body is None


class InMemoryProductCache:
    """A dict-backed ``ProductCache`` with the Redis adapter's rules (no TTLs but the lease's)."""

    def __init__(self, lease_ttl: float = 2.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.entries: dict[int, CachedProduct] = {}
        self.absent: dict[int, str] = {}
        self._leases: dict[int, tuple[str, float]] = {}
        self._tokens = itertools.count(1)
        self._generation = "g0"
        self._lease_ttl = lease_ttl
        self._clock = clock
        self.position: int | None = None

    def evict(self, product_id: int) -> None:
        """Lose an entry, as LRU eviction or expiry would."""
        self.entries.pop(product_id, None)
        self.absent.pop(product_id, None)

    async def lookup(self, product_id: int) -> CacheLookup:
        """An entry with a body is a hit; a current negative entry is absent; else a lease or busy."""
        entry = self.entries.get(product_id)
        if entry is not None and entry.body is not None:
            return CacheLookup(LookupStatus.HIT, entry)
        if entry is None and self.absent.get(product_id) == self._generation:
            return CacheLookup(LookupStatus.ABSENT)
        now = self._clock()
        held = self._leases.get(product_id)
        if held is not None and held[1] > now:
            return CacheLookup(LookupStatus.BUSY)
        token = f"t{next(self._tokens)}"
        self._leases[product_id] = (token, now + self._lease_ttl)
        return CacheLookup(LookupStatus.MISS, lease=FillLease(token, self._generation))

    def _holds(self, product_id: int, lease: FillLease) -> bool:
        held = self._leases.get(product_id)
        return held is not None and held[0] == lease.token and held[1] > self._clock()

    async def fill(self, product_id: int, entry: CachedProduct, lease: FillLease) -> bool:
        """Store under a live lease, by compare-and-set on version."""
        if not self._holds(product_id, lease):
            return False
        del self._leases[product_id]
        if not _newer(self.entries.get(product_id), entry.version, with_body=True):
            return False
        self.entries[product_id] = entry
        self.absent.pop(product_id, None)
        return True

    async def fill_absent(self, product_id: int, lease: FillLease) -> bool:
        """Remember the id as unknown, under a live lease and the generation the lease saw."""
        if not self._holds(product_id, lease):
            return False
        del self._leases[product_id]
        if lease.generation != self._generation:
            return False
        self.entries.pop(product_id, None)
        self.absent[product_id] = lease.generation
        return True

    async def release(self, product_id: int, lease: FillLease) -> None:
        """Free the id's lease if it is still this one."""
        if self._holds(product_id, lease):
            del self._leases[product_id]

    async def written(self, product_id: int, entry: CachedProduct) -> bool:
        """Store a written version by compare-and-set and revoke the id's lease."""
        self._leases.pop(product_id, None)
        if not _newer(self.entries.get(product_id), entry.version, with_body=True):
            return False
        self.entries[product_id] = entry
        self.absent.pop(product_id, None)
        return True

    async def tombstone(self, marks: Sequence[Invalidation]) -> None:
        """Store tombstones by compare-and-set and revoke the ids' leases."""
        for mark in marks:
            self._leases.pop(mark.product_id, None)
            if _newer(self.entries.get(mark.product_id), mark.version, with_body=False):
                self.entries[mark.product_id] = CachedProduct(mark.version, None)
                self.absent.pop(mark.product_id, None)

    async def ids_added(self) -> None:
        """Start a new insert generation: every negative entry is now stale."""
        self._generation = f"g{next(self._tokens)}"

    async def clear(self) -> None:
        """Tombstone every entry one version on, and revoke every lease."""
        self._leases.clear()
        for product_id, entry in list(self.entries.items()):
            self.entries[product_id] = CachedProduct(entry.version + 1, None)

    async def relayed(self, position: int) -> None:
        """Raise the record of what was relayed."""
        self.position = max(position, self.position or 0)

    async def relayed_through(self, position: int) -> bool:
        """Whether the record reaches ``position`` (nothing relayed yet is always reached)."""
        return position == 0 or (self.position is not None and self.position >= position)

    async def forget_all(self) -> None:
        """Drop everything, as a restored or replaced cache would need."""
        self.entries.clear()
        self.absent.clear()
        self._leases.clear()


class InMemoryBus:
    """An ``InvalidationBus`` that delivers to near caches in this process at once."""

    def __init__(self, *subscribers: NearCache) -> None:
        self.subscribers = list(subscribers)
        self.sent: list[tuple[tuple[Invalidation, ...], bool]] = []
        self.up = True

    async def publish(self, invalidations: Sequence[Invalidation], *, flush: bool = False) -> bool:
        """Deliver to every subscriber; False (nothing delivered) while ``up`` is False."""
        if not self.up:
            return False
        self.sent.append((tuple(invalidations), flush))
        for near in self.subscribers:
            if flush:
                near.flush()
            for invalidation in invalidations:
                near.invalidate(invalidation.product_id, invalidation.version)
        return True
