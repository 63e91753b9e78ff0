"""The L1 near cache: a bounded, versioned LRU per worker with a short TTL."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from typing import NamedTuple

from productcore.model import CachedProduct


class _Entry(NamedTuple):
    version: int
    body: bytes
    expires: float


class _Floor(NamedTuple):
    version: int
    seq: int


class LruNearCache:
    """A ``NearCache``: at most ``max_entries`` documents, each for at most ``ttl`` seconds.

    Every invalidation raises a per-id *floor*: fills below it are refused, so a reader that
    fetched an old version before the invalidation arrived cannot put it back. Floors are kept
    for ``max_floors`` ids; forgetting one makes every fill that started before it be refused,
    so the cache errs towards a miss, never towards a stale hit.

    Args:
        max_entries: Capacity; the least recently used entry goes first.
        ttl: Seconds an entry lives, whatever happens.
        max_floors: Ids whose last invalidation is remembered (default: four times capacity).
        enabled: A disabled cache misses and refuses fills (while invalidations cannot arrive).
        clock: Monotonic seconds.
    """

    def __init__(
        self,
        max_entries: int,
        ttl: float,
        *,
        max_floors: int | None = None,
        enabled: bool = True,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._max_entries = max_entries
        self._ttl = ttl
        self._max_floors = max_floors or max(1024, 4 * max_entries)
        self._clock = clock
        self._entries: OrderedDict[int, _Entry] = OrderedDict()
        self._floors: OrderedDict[int, _Floor] = OrderedDict()
        self._seq = 0
        self._forgotten = 0
        self._enabled = enabled

    @property
    def enabled(self) -> bool:
        """Whether the cache serves and accepts entries."""
        return self._enabled

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, product_id: int) -> CachedProduct | None:
        """Return a live document, or None."""
        entry = self._entries.get(product_id)
        if entry is None or not self._enabled:
            return None
        if entry.expires <= self._clock():
            del self._entries[product_id]
            return None
        self._entries.move_to_end(product_id)
        return CachedProduct(entry.version, entry.body)

    def peek(self, product_id: int) -> CachedProduct | None:
        """The stored entry, live or not, without touching its recency (for inspection)."""
        entry = self._entries.get(product_id)
        return None if entry is None else CachedProduct(entry.version, entry.body)

    def ticket(self) -> int:
        """A mark of this moment."""
        return self._seq

    def fill(self, product_id: int, entry: CachedProduct, ticket: int) -> bool:
        """Store ``entry`` unless it is stale; False when refused as stale (or while disabled)."""
        if not self._enabled or entry.body is None or ticket < self._forgotten:
            return False
        floor = self._floors.get(product_id)
        if floor is not None and entry.version < floor.version:
            return False
        current = self._entries.get(product_id)
        now = self._clock()
        if current is not None and current.expires > now and current.version >= entry.version:
            return current.version == entry.version
        self._entries[product_id] = _Entry(entry.version, entry.body, now + self._ttl)
        self._entries.move_to_end(product_id)
        while len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)
        return True

    def changed_since(self, product_id: int, ticket: int) -> bool:
        """True when an invalidation of this id, or a flush, may have come in after ``ticket``."""
        if ticket < self._forgotten:
            return True
        floor = self._floors.get(product_id)
        return floor is not None and floor.seq > ticket

    def newer_known(self, product_id: int, version: int) -> bool:
        """True when an invalidation of this id named a version above ``version``."""
        floor = self._floors.get(product_id)
        return floor is not None and floor.version > version

    def invalidate(self, product_id: int, version: int) -> bool:
        """Raise the id's floor to ``version``; drop its entry if older. True when one was dropped."""
        floor = self._floors.get(product_id)
        if floor is None or floor.version < version:
            self._seq += 1
            self._floors[product_id] = _Floor(version, self._seq)
            self._floors.move_to_end(product_id)
            while len(self._floors) > self._max_floors:
                _, oldest = self._floors.popitem(last=False)
                self._forgotten = max(self._forgotten, oldest.seq)
        current = self._entries.get(product_id)
        if current is not None and current.version < version:
            del self._entries[product_id]
            return True
        return False

    def flush(self) -> None:
        """Forget every entry and floor, and refuse every fill that started before now."""
        self._entries.clear()
        self._floors.clear()
        self._seq += 1
        self._forgotten = self._seq

    def disable(self) -> None:
        """Flush and stop serving: invalidations cannot reach this cache for now."""
        self.flush()
        self._enabled = False

    def enable(self) -> None:
        """Flush (what was missed is unknown) and serve again."""
        self.flush()
        self._enabled = True
