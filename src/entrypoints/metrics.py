"""Prometheus metrics of the cache layer, read from every live cache layer of the process."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

from prometheus_client import REGISTRY
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from adapters.memory import LruNearCache
from entrypoints.consumers.invalidations import InvalidationSubscriber
from entrypoints.consumers.relay import ChangeRelayRunner
from productcore.caching import CacheStats

_COUNTERS = {
    "invalidations_sent": "Invalidations this process published",
    "invalidations_applied": "Invalidations applied to this process's near cache",
    "l1_flushes": "Near cache flushes (subscription lost or regained, TRUNCATE)",
    "db_reads": "Product reads that went to PostgreSQL",
    "coalesced": "Reads that joined a load already in flight (single flight)",
    "l2_busy_waits": "Reads that waited for another instance's fill lease",
    "l2_errors": "Redis calls that failed (the read went on without the cache)",
    "l2_stale_hits": "L2 hits older than an invalidation heard here (read from PostgreSQL instead)",
}


class CacheCollector:
    """A collector over the counters of every cache layer registered with it."""

    def __init__(self) -> None:
        self._ids = itertools.count()
        self._layers: dict[int, tuple[CacheStats, LruNearCache | None, InvalidationSubscriber | None]] = {}
        self._relays: dict[int, ChangeRelayRunner] = {}

    def add(
        self, stats: CacheStats, near: LruNearCache | None, subscriber: InvalidationSubscriber | None
    ) -> int:
        """Include a cache layer; returns a handle for ``remove``."""
        handle = next(self._ids)
        self._layers[handle] = (stats, near, subscriber)
        return handle

    def add_relay(self, runner: ChangeRelayRunner) -> int:
        """Include a relay's lag and role."""
        handle = next(self._ids)
        self._relays[handle] = runner
        return handle

    def remove(self, handle: int) -> None:
        """Stop including what ``handle`` names."""
        self._layers.pop(handle, None)
        self._relays.pop(handle, None)

    def _sum(self, name: str) -> int:
        return sum(getattr(stats, name) for stats, _, _ in self._layers.values())

    def collect(self) -> Iterator[Metric]:
        """Yield the current values."""
        lookups = CounterMetricFamily(
            "productcore_cache_lookups", "Cache lookups by tier and result", labels=["tier", "result"]
        )
        for tier, result, name in (
            ("l1", "hit", "l1_hits"),
            ("l1", "miss", "l1_misses"),
            ("l2", "hit", "l2_hits"),
            ("l2", "negative_hit", "l2_negative_hits"),
            ("l2", "miss", "l2_misses"),
        ):
            lookups.add_metric([tier, result], self._sum(name))
        yield lookups
        rejected = CounterMetricFamily(
            "productcore_cache_fills_rejected",
            "Fills refused because a newer version or an invalidation came first",
            labels=["tier"],
        )
        rejected.add_metric(["l1"], self._sum("l1_fills_rejected"))
        rejected.add_metric(["l2"], self._sum("l2_fills_rejected"))
        yield rejected
        for name, help_text in _COUNTERS.items():
            yield CounterMetricFamily(f"productcore_cache_{name}", help_text, value=self._sum(name))
        yield GaugeMetricFamily(
            "productcore_cache_l1_entries",
            "Entries in near caches",
            value=sum(len(near) for _, near, _ in self._layers.values() if near is not None),
        )
        yield GaugeMetricFamily(
            "productcore_cache_subscriber_connected",
            "1 while the invalidation subscription is live",
            value=min(
                (int(sub.state == "connected") for _, _, sub in self._layers.values() if sub is not None),
                default=0,
            ),
        )
        active = [runner for runner in self._relays.values() if runner.role == "active"]
        yield GaugeMetricFamily(
            "productcore_cache_relay_active", "1 when this process runs the active relay", value=len(active)
        )
        yield GaugeMetricFamily(
            "productcore_cache_relay_lag_seconds",
            "Age of the oldest change the active relay has read but not yet relayed (0 when caught up)",
            value=max((runner.lag_s for runner in active), default=0.0),
        )
        yield CounterMetricFamily(
            "productcore_cache_relayed_changes",
            "Changes relayed from the outbox by this process",
            value=sum(runner.relayed for runner in self._relays.values()),
        )

    def describe(self) -> list[Any]:
        """Nothing up front: the metric families are generated on collect."""
        return []


_collector: CacheCollector | None = None


def cache_metrics() -> CacheCollector:
    """The process's collector, registered with the default registry on first use."""
    global _collector
    if _collector is None:
        _collector = CacheCollector()
        REGISTRY.register(_collector)
    return _collector
