"""Request counts and durations for every HTTP request, kept as plain numbers and exported on scrape.

Recorded by the front door, so requests refused before routing (429, 431, 414) and the router's own
404 and 405 are counted too. A request costs a dictionary lookup and a bisection; the Prometheus
families are built only when ``/metrics`` is read. Under ``productcore serve`` the workers exchange
the plain numbers (``rows``), not the families, which cost far more to build.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric

BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
"""Upper bounds of the duration histogram, in seconds (a cached read takes well under a millisecond)."""


def _bound(value: float) -> str:
    """A bucket bound as Prometheus writes it (``+Inf`` for the last)."""
    return "+Inf" if value == float("inf") else repr(value)


class RequestMetrics:
    """Counts and a duration histogram per method, path template and status."""

    def __init__(self) -> None:
        self._series: dict[tuple[str, str, int], list[float]] = {}

    def record(self, method: str, path: str, status: int, seconds: float) -> None:
        """Count one answered request."""
        key = (method, path, status)
        series = self._series.get(key)
        if series is None:
            # [count, sum, one count per bucket (the last is +Inf)]
            series = self._series[key] = [0, 0.0] + [0] * (len(BUCKETS) + 1)
        series[0] += 1
        series[1] += seconds
        series[2 + bisect_left(BUCKETS, seconds)] += 1

    def rows(self) -> list[list[Any]]:
        """Every series as ``[method, path, status, count, sum, count per bucket...]``."""
        return [[*key, *series] for key, series in self._series.items()]

    def add_rows(self, rows: Iterable[Sequence[Any]]) -> None:
        """Add series given as ``rows`` gives them (another worker's) to these."""
        for method, path, status, *values in rows:
            series = self._series.setdefault((method, path, status), [0, 0.0] + [0] * (len(BUCKETS) + 1))
            for index, value in enumerate(values):
                series[index] += value

    def collect(self) -> Iterator[Metric]:
        """Yield the current values as Prometheus families."""
        labels = ["method", "path", "status"]
        total = CounterMetricFamily(
            "productcore_http_requests", "HTTP requests answered, by method, route and status", labels=labels
        )
        duration = HistogramMetricFamily(
            "productcore_http_request_duration_seconds",
            "Time from a request's arrival at the app to its answer",
            labels=labels,
        )
        for (method, path, status), series in sorted(self._series.items()):
            values = [method, path, str(status)]
            total.add_metric(values, series[0])
            cumulative, buckets = 0.0, []
            for bound, count in zip((*BUCKETS, float("inf")), series[2:], strict=True):
                cumulative += count
                buckets.append((_bound(bound), cumulative))
            duration.add_metric(values, buckets, series[1])
        yield total
        yield duration

    def describe(self) -> list[Any]:
        """Nothing up front: the families are built on collect."""
        return []


_metrics: RequestMetrics | None = None


def request_metrics() -> RequestMetrics:
    """The process's request metrics (``/metrics`` renders them with the default registry's)."""
    global _metrics
    if _metrics is None:
        _metrics = RequestMetrics()
    return _metrics
