"""The L1 near cache: bounded LRU, TTL, and invalidations that stop older fills."""

from __future__ import annotations

from adapters.memory import LruNearCache
from productcore.model import CachedProduct


class Clock:
    """A settable monotonic clock."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def doc(version: int) -> CachedProduct:
    return CachedProduct(version, b'{"v":%d}' % version)


def test_it_keeps_at_most_its_capacity_evicting_the_least_recently_used() -> None:
    """A full cache drops the entry read longest ago."""
    near = LruNearCache(2, 30)
    for product_id in (1, 2):
        assert near.fill(product_id, doc(1), near.ticket())
    assert near.get(1) is not None
    near.fill(3, doc(1), near.ticket())
    assert near.get(2) is None
    assert near.get(1) is not None
    assert near.get(3) is not None


def test_entries_expire_after_the_ttl() -> None:
    """An entry older than the TTL is a miss."""
    clock = Clock()
    near = LruNearCache(10, 5, clock=clock)
    near.fill(1, doc(1), near.ticket())
    clock.now = 4.9
    assert near.get(1) is not None
    clock.now = 5.0
    assert near.get(1) is None


def test_an_invalidation_for_v_refuses_any_later_fill_below_v() -> None:
    """A reader that fetched v before hearing of v+1 cannot put v in, whenever it tries."""
    near = LruNearCache(10, 30)
    ticket = near.ticket()
    near.invalidate(1, 2)
    assert not near.fill(1, doc(1), ticket)
    assert not near.fill(1, doc(1), near.ticket())
    assert near.get(1) is None
    assert near.fill(1, doc(2), ticket)
    assert near.get(1) == doc(2)


def test_an_invalidation_drops_older_entries_only() -> None:
    """An entry at or above the invalidated version stays."""
    near = LruNearCache(10, 30)
    near.fill(1, doc(3), near.ticket())
    assert not near.invalidate(1, 3)
    assert near.get(1) == doc(3)
    assert near.invalidate(1, 4)
    assert near.get(1) is None


def test_a_newer_entry_is_never_replaced_by_an_older_one() -> None:
    """Fills are versioned: the newest stays."""
    near = LruNearCache(10, 30)
    near.fill(1, doc(5), near.ticket())
    assert not near.fill(1, doc(4), near.ticket())
    assert near.get(1) == doc(5)


def test_a_flush_refuses_fills_that_started_before_it() -> None:
    """After a flush nothing read before it can come back."""
    near = LruNearCache(10, 30)
    near.fill(1, doc(1), near.ticket())
    before = near.ticket()
    near.flush()
    assert near.get(1) is None
    assert not near.fill(1, doc(1), before)
    assert near.changed_since(2, before)
    assert near.fill(1, doc(1), near.ticket())


def test_forgetting_a_floor_errs_towards_refusing() -> None:
    """When the floor memory is full, fills older than the forgotten floor are refused, not let through."""
    near = LruNearCache(2, 30, max_floors=2)
    ticket = near.ticket()
    near.invalidate(1, 5)
    near.invalidate(2, 5)
    near.invalidate(3, 5)  # forgets id 1's floor
    assert not near.fill(1, doc(4), ticket)
    assert near.fill(1, doc(4), near.ticket())


def test_a_disabled_cache_misses_and_refuses_fills() -> None:
    """While invalidations cannot arrive, L1 is off; turned on again it starts empty."""
    near = LruNearCache(10, 30)
    near.fill(1, doc(1), near.ticket())
    near.disable()
    assert near.get(1) is None
    assert not near.fill(1, doc(1), near.ticket())
    near.enable()
    assert near.get(1) is None
    assert near.fill(1, doc(1), near.ticket())
