"""Worker snapshots merge into the server's metrics: counts summed over every worker, gauges by rule."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import textwrap
from pathlib import Path

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from entrypoints.http.app import create_app
from entrypoints.server_metrics import (
    GAUGES,
    METRICS_DIR_VARIABLE,
    Merged,
    ServerMetrics,
    merge,
    read_snapshots,
    shared_metrics,
)
from entrypoints.settings import Settings


def _worker(requests: int, seconds: list[float], gauges: dict[str, float]) -> CollectorRegistry:
    """A registry like a worker's: a labelled counter, a histogram, and the given gauges."""
    registry = CollectorRegistry()
    Counter("requests", "Requests", ["status"], registry=registry).labels("200").inc(requests)
    histogram = Histogram("latency_seconds", "Latency", buckets=(0.1, 1.0), registry=registry)
    for value in seconds:
        histogram.observe(value)
    for name, value in gauges.items():
        Gauge(name, name, registry=registry).set(value)
    return registry


def _values(directory: Path) -> dict[str, float]:
    """The merged samples, as the scrape renders them, by sample name and labels."""
    text = generate_latest(Merged(merge(read_snapshots(directory)))).decode()
    return {
        sample.name + json.dumps(sample.labels, sort_keys=True): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


async def test_counters_and_histograms_are_summed_over_the_workers(tmp_path: Path) -> None:
    """Two workers' counters and histogram buckets, counts and sums add up; no ``_created`` sample."""
    await ServerMetrics(tmp_path, _worker(3, [0.05, 0.5], {})).flush()
    await ServerMetrics(tmp_path, _worker(4, [2.0], {})).flush()
    values = _values(tmp_path)
    assert values['requests_total{"status": "200"}'] == 7
    assert values['latency_seconds_bucket{"le": "0.1"}'] == 1
    assert values['latency_seconds_bucket{"le": "1.0"}'] == 2
    assert values['latency_seconds_bucket{"le": "+Inf"}'] == 3
    assert values["latency_seconds_count{}"] == 3
    assert values["latency_seconds_sum{}"] == 2.55
    assert values["productcore_server_workers{}"] == 2
    assert not [name for name in values if "_created" in name]


async def test_gauges_of_live_workers_follow_their_rule(tmp_path: Path) -> None:
    """Degraded if any worker is (max), near-cache entries summed, connected only if all are (min)."""
    names = (
        "productcore_rate_limit_degraded",
        "productcore_cache_l1_entries",
        "productcore_cache_subscriber_connected",
    )
    await ServerMetrics(tmp_path, _worker(0, [], dict(zip(names, (0, 3, 1), strict=True)))).flush()
    await ServerMetrics(tmp_path, _worker(0, [], dict(zip(names, (1, 4, 0), strict=True)))).flush()
    values = _values(tmp_path)
    assert [values[name + "{}"] for name in names] == [1, 7, 0]


def test_a_stopped_worker_keeps_its_counts_but_not_its_gauges(tmp_path: Path) -> None:
    """A worker that wrote its snapshot and exited still counts in the totals (they never go down when
    a worker restarts), while its gauges, which described a process that is gone, are left out."""
    script = f"""
        import asyncio
        from pathlib import Path
        from prometheus_client import CollectorRegistry, Counter, Gauge
        from entrypoints.server_metrics import ServerMetrics
        registry = CollectorRegistry()
        Counter("requests", "Requests", ["status"], registry=registry).labels("200").inc(5)
        Gauge("productcore_cache_l1_entries", "Entries", registry=registry).set(100)
        asyncio.run(ServerMetrics(Path({str(tmp_path)!r}), registry).flush())
    """
    subprocess.run([sys.executable, "-c", textwrap.dedent(script)], check=True, timeout=60)
    asyncio.run(ServerMetrics(tmp_path, _worker(2, [], {"productcore_cache_l1_entries": 3})).flush())
    values = _values(tmp_path)
    assert values['requests_total{"status": "200"}'] == 7
    assert values["productcore_cache_l1_entries{}"] == 3
    assert values["productcore_server_workers{}"] == 1


async def test_a_worker_writes_a_last_snapshot_as_it_stops(tmp_path: Path) -> None:
    """What a worker counted after its last periodic snapshot is written when its block ends."""
    registry = CollectorRegistry()
    requests = Counter("requests", "Requests", registry=registry)
    async with shared_metrics(registry, {METRICS_DIR_VARIABLE: str(tmp_path)}) as server:
        assert server is not None
        requests.inc(9)
    assert _values(tmp_path)["requests_total{}"] == 9


async def test_without_serve_the_process_registry_is_the_whole(tmp_path: Path) -> None:
    """The library and the test app (no ``productcore serve``) share nothing and need no setup."""
    async with shared_metrics(CollectorRegistry(), {}) as server:
        assert server is None


def test_every_gauge_of_the_app_has_a_rule() -> None:
    """A gauge added to the app without a rule would be summed over the workers, silently."""
    create_app(Settings.from_env({}))
    gauges = {family.name for family in REGISTRY.collect() if family.type == "gauge"}
    assert gauges - set(GAUGES) == set()
