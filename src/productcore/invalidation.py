"""Use cases of cache invalidation: relay committed changes, keep the near cache in step with broadcasts."""

from __future__ import annotations

from collections.abc import Sequence

from productcore.caching import CacheStats, Change, ChangeKind, Invalidation
from productcore.errors import ServiceUnavailable
from productcore.ports import InvalidationBus, NearCache, ProductCache, SwitchableNearCache


class ChangeRelay:
    """Turns committed changes (from the database's outbox) into tombstones and invalidations.

    Args:
        cache: The shared cache that receives tombstones.
        bus: Where the matching invalidations go out to every instance.
        stats: Counters to add to.
    """

    def __init__(self, cache: ProductCache, bus: InvalidationBus, stats: CacheStats) -> None:
        self._cache = cache
        self._bus = bus
        self._stats = stats

    async def apply(self, changes: Sequence[Change]) -> None:
        """Tombstone every changed id in L2, then broadcast; safe to repeat (it is idempotent).

        Raises:
            ServiceUnavailable: the cache or the bus cannot be reached; nothing may be taken as
                relayed, so the caller keeps the changes and retries.
        """
        marks = [
            Invalidation(c.product_id, c.version)
            for c in changes
            if c.kind in (ChangeKind.UPDATE, ChangeKind.DELETE) and c.product_id is not None
        ]
        truncated = any(c.kind is ChangeKind.TRUNCATE for c in changes)
        if truncated:
            await self._cache.clear()
        if marks:
            await self._cache.tombstone(marks)
        if any(c.kind in (ChangeKind.INSERT, ChangeKind.TRUNCATE) for c in changes):
            await self._cache.ids_added()
        if (marks or truncated) and not await self._bus.publish(marks, flush=truncated):
            raise ServiceUnavailable("the invalidation channel cannot be reached")
        self._stats.invalidations_sent += len(marks)
        if changes:
            await self._cache.relayed(max(c.seq for c in changes))

    async def verify(self, position: int) -> bool:
        """Make sure the shared cache saw every change up to ``position`` (the last one relayed).

        A Redis restarted from an older snapshot, or a replica that lagged and was promoted, has
        lost the tombstones of later changes and would serve older versions until their TTL. Its
        record of what was relayed is then behind (or gone): everything it holds is dropped and
        every near cache told to flush. Returns True when that happened.

        Raises:
            ServiceUnavailable: the cache or the bus cannot be reached (the relay retries).
        """
        if await self._cache.relayed_through(position):
            return False
        await self._cache.forget_all()
        await self._cache.relayed(position)
        if not await self._bus.publish([], flush=True):
            raise ServiceUnavailable("the invalidation channel cannot be reached")
        return True


def apply_invalidations(
    near: NearCache, invalidations: Sequence[Invalidation], *, flush: bool, stats: CacheStats
) -> None:
    """Apply a broadcast message to this process's near cache."""
    if flush:
        near.flush()
        stats.l1_flushes += 1
    for invalidation in invalidations:
        near.invalidate(invalidation.product_id, invalidation.version)
    stats.invalidations_applied += len(invalidations)


def subscription_started(near: SwitchableNearCache, stats: CacheStats) -> None:
    """The channel is heard (again): flush the near cache (messages may have been missed) and serve it."""
    near.enable()
    stats.l1_flushes += 1


def subscription_lost(near: SwitchableNearCache, stats: CacheStats) -> None:
    """The channel cannot be heard: flush the near cache and serve without it until resubscribed."""
    near.disable()
    stats.l1_flushes += 1
