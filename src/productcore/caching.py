"""Values of the cache protocol: lookups, fill leases, changes, invalidations, broadcasts, counters."""

from __future__ import annotations

import enum
from dataclasses import dataclass

import msgspec

from productcore.model import CachedProduct


class LookupStatus(enum.Enum):
    """What the shared cache knows about one id."""

    HIT = "hit"
    """A document of the current version (as far as the cache knows)."""
    ABSENT = "absent"
    """The id was looked up recently and no product had it (a negative entry)."""
    MISS = "miss"
    """Nothing usable: no entry, a tombstone, or the cache cannot be reached."""
    BUSY = "busy"
    """A miss that another reader is already filling: wait for its fill."""


class FillLease(msgspec.Struct, frozen=True):
    """Permission to fill one id, valid until any write of that id or the lease's expiry.

    ``generation`` is the cache's insert generation seen before the database read; a negative
    entry made with it is rejected once products were inserted since.
    """

    token: str
    generation: str


class CacheLookup(msgspec.Struct, frozen=True):
    """The outcome of reading the shared cache: an entry, or whether this reader may fill it."""

    status: LookupStatus
    entry: CachedProduct | None = None
    lease: FillLease | None = None


class ChangeKind(enum.StrEnum):
    """Kinds of committed change the database's outbox records."""

    UPDATE = "U"
    DELETE = "D"
    INSERT = "I"
    TRUNCATE = "T"


class Change(msgspec.Struct, frozen=True):
    """One committed change: the id and the version it made (None for statement-wide changes).

    ``committed_at`` is when it was recorded, in seconds since the epoch (0.0: not known).
    """

    seq: int
    kind: ChangeKind
    product_id: int | None = None
    version: int = 0
    committed_at: float = 0.0


class OutboxState(msgspec.Struct, frozen=True):
    """What the database says about relaying: the wait of its oldest pending change, and whether
    any session holds the relay lock."""

    oldest_pending_s: float
    lock_held: bool


class Invalidation(msgspec.Struct, frozen=True, array_like=True):
    """Tells near caches that ``product_id`` is now at ``version`` or later."""

    product_id: int
    version: int


class Subscribed(msgspec.Struct, frozen=True):
    """The invalidation channel is heard (again): what was broadcast before may have been missed."""


class Broadcast(msgspec.Struct, frozen=True):
    """One message heard on the invalidation channel: ids now at a version, and whether to flush."""

    invalidations: tuple[Invalidation, ...] = ()
    flush: bool = False


@dataclass
class CacheStats:
    """Counters of one process's cache traffic (exported as metrics, asserted on in tests)."""

    l1_hits: int = 0
    l1_misses: int = 0
    l2_hits: int = 0
    l2_negative_hits: int = 0
    l2_misses: int = 0
    l2_stale_hits: int = 0
    l2_busy_waits: int = 0
    l2_errors: int = 0
    db_reads: int = 0
    coalesced: int = 0
    l1_fills_rejected: int = 0
    l2_fills_rejected: int = 0
    invalidations_sent: int = 0
    invalidations_applied: int = 0
    l1_flushes: int = 0
