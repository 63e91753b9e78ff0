"""What the core needs from the outside world, as structural protocols."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Protocol, runtime_checkable

import msgspec

from productcore.caching import (
    Broadcast,
    CacheLookup,
    Change,
    FillLease,
    Invalidation,
    OutboxState,
    Subscribed,
)
from productcore.model import CachedProduct, Cursor, PriceStock, Product, SearchCriteria, Sort, Total


@runtime_checkable
class ProductRepository(Protocol):
    """The system of record for products."""

    async def get(self, product_id: int) -> Product | None:
        """Return the product with this id, or None."""

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

    async def count(self, criteria: SearchCriteria | None, *, exact_up_to: int) -> Total:
        """Count matching products; counts above ``exact_up_to`` may be estimates (flagged)."""

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
        """``fetch`` and ``count`` at once, holding one connection (never two) for the pair."""

    async def update(self, product_id: int, change: PriceStock, *, expected_version: int | None) -> Product:
        """Apply a change atomically and return the product as stored after it.

        Raises ProductNotFound, or VersionConflict when ``expected_version`` is given and the
        stored version differs.
        """


@runtime_checkable
class ProductCache(Protocol):
    """The shared (L2) cache of product documents, consistent by version.

    Every write goes through a compare-and-set on version: an older version never replaces a
    newer one or a tombstone of a newer one. A fill also needs the lease the lookup handed out,
    and any write of the id revokes outstanding leases, so a reader that read the database
    before a write cannot store what it read after that write, even if the entry was evicted.
    Reads, fills and write-through fail open: when the cache cannot be reached, lookups miss
    and writes are dropped (the relay's tombstones repair what a dropped write-through left).
    The relay's calls, ``tombstone`` to ``forget_all``, raise ``ServiceUnavailable`` instead, so
    that the relay keeps its changes and retries.
    """

    async def lookup(self, product_id: int) -> CacheLookup:
        """Return the entry, or a miss (with a fill lease when this reader is the one to fill)."""

    async def fill(self, product_id: int, entry: CachedProduct, lease: FillLease) -> bool:
        """Store a document read from the repository; False when the lease or the CAS rejects it."""

    async def fill_absent(self, product_id: int, lease: FillLease) -> bool:
        """Remember for a short time that no product has this id; False when rejected."""

    async def release(self, product_id: int, lease: FillLease) -> None:
        """Give a lease back unused (the read failed), so the next reader need not wait it out."""

    async def written(self, product_id: int, entry: CachedProduct) -> bool:
        """Store the version a write made (write-through) and revoke fill leases of the id."""

    async def tombstone(self, marks: Sequence[Invalidation]) -> None:
        """Mark each id as changed to its version: readers refetch, and only that or newer is stored."""

    async def ids_added(self) -> None:
        """Forget every negative entry: products were inserted."""

    async def clear(self) -> None:
        """Tombstone every cached product and revoke every lease: the table was emptied."""

    async def relayed(self, position: int) -> None:
        """Record that every change up to this outbox position is in the cache."""

    async def relayed_through(self, position: int) -> bool:
        """Whether the cache's record says it saw every change up to this outbox position."""

    async def forget_all(self) -> None:
        """Drop every entry and lease (the cache cannot be trusted)."""


@runtime_checkable
class NearCache(Protocol):
    """A small in-process (L1) cache in front of the shared one, kept right by invalidations.

    ``ticket()`` is taken before a read of the shared cache or the repository; ``fill`` with it
    is refused when an invalidation of a newer version (or a flush) came in meanwhile.
    """

    def get(self, product_id: int) -> CachedProduct | None:
        """Return a live document, or None."""

    def ticket(self) -> int:
        """A mark of this moment, for a later ``fill`` or ``changed_since``."""

    def fill(self, product_id: int, entry: CachedProduct, ticket: int) -> bool:
        """Store a document unless an invalidation since ``ticket`` makes it stale."""

    def changed_since(self, product_id: int, ticket: int) -> bool:
        """True when an invalidation of this id (or a flush) may have come in after ``ticket``."""

    def newer_known(self, product_id: int, version: int) -> bool:
        """True when an invalidation said this id is already past ``version``."""

    def invalidate(self, product_id: int, version: int) -> bool:
        """Drop entries older than ``version`` and refuse later fills below it; True if one was dropped."""

    def flush(self) -> None:
        """Forget every entry and refuse fills that started before now."""


@runtime_checkable
class InvalidationBus(Protocol):
    """Broadcasts invalidations to every instance's near cache."""

    async def publish(self, invalidations: Sequence[Invalidation], *, flush: bool = False) -> bool:
        """Send invalidations (and, with ``flush``, an order to empty every near cache).

        Returns False when the message could not be sent; never raises for a broken broker.
        """


@runtime_checkable
class SwitchableNearCache(NearCache, Protocol):
    """A near cache that is switched off while invalidations cannot reach it."""

    @property
    def enabled(self) -> bool:
        """Whether the cache serves and accepts entries."""

    def __len__(self) -> int:
        """Entries held."""

    def enable(self) -> None:
        """Flush (what was missed is unknown) and serve again."""

    def disable(self) -> None:
        """Flush and stop serving: invalidations cannot reach this cache for now."""


class ConnectionLost(Exception):
    """A consumer's connection (a channel subscription, an outbox session) broke: reconnect."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@runtime_checkable
class InvalidationFeed(Protocol):
    """The invalidation channel as this process hears it, one subscription at a time."""

    def listen(self) -> AsyncGenerator[Subscribed | Broadcast, None]:
        """Subscribe; yield ``Subscribed`` once heard, then every broadcast (empty if malformed).

        Raises:
            ConnectionLost: the connection broke or stopped answering.
        """

    async def close(self) -> None:
        """Release the feed's connections."""


class OutboxSession(Protocol):
    """One connection of a relay candidate to the database's outbox of committed changes.

    Every method raises ``ConnectionLost`` when the database cannot be reached.
    """

    async def take_lead(self) -> bool:
        """Take the database's relay lock if it is free; True when this session holds it."""

    async def resume(self) -> int:
        """Start hearing commits, and return the outbox position relayed so far."""

    async def read_pending(self, limit: int) -> list[Change]:
        """The oldest ``limit`` changes not yet relayed, oldest first."""

    async def prune(self, changes: Sequence[Change]) -> None:
        """Delete relayed changes and record the position reached, at once."""

    async def wait_for_commit(self, seconds: float) -> None:
        """Return when a change was committed, or after ``seconds``."""


@runtime_checkable
class ChangeOutbox(Protocol):
    """Where a relay candidate opens its session (the relay lock lives as long as the session)."""

    def connect(self) -> AbstractAsyncContextManager[OutboxSession]:
        """Open a session; raises ``ConnectionLost`` when the database cannot be reached."""


@runtime_checkable
class OutboxMonitor(Protocol):
    """Relaying as the database sees it, for readiness."""

    async def inspect(self) -> OutboxState:
        """The age of the oldest pending change and whether any session holds the relay lock."""


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
