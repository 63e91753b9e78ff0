"""Worker snapshots merge into the server's metrics: counts summed over every worker, gauges by rule."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from entrypoints.http.app import create_app
from entrypoints.http.request_metrics import RequestMetrics
from entrypoints.server_metrics import (
    GAUGES,
    METRICS_DIR_VARIABLE,
    Collected,
    ServerMetrics,
    merge,
    read_snapshots,
    shared_metrics,
)
from entrypoints.settings import Settings

_GET_X = {"method": "GET", "path": "/x", "status": "200"}


def _key(name: str, **labels: str) -> str:
    """A sample's name and labels, as ``_values`` keys them."""
    return name + json.dumps(labels, sort_keys=True)


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


def _requests(*seconds: float) -> RequestMetrics:
    """Request metrics like a worker's: one 200 to ``GET /x`` per duration."""
    requests = RequestMetrics()
    for value in seconds:
        requests.record("GET", "/x", 200, value)
    return requests


def _values(directory: Path) -> dict[str, float]:
    """The merged samples, as the scrape renders them, by sample name and labels."""
    text = generate_latest(Collected(merge(read_snapshots(directory)))).decode()
    return {
        _key(sample.name, **sample.labels): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


async def test_counters_and_histograms_are_summed_over_the_workers(tmp_path: Path) -> None:
    """Two workers' counters and histogram buckets, counts and sums add up; no ``_created`` sample."""
    await ServerMetrics(tmp_path, RequestMetrics(), _worker(3, [0.05, 0.5], {})).flush()
    await ServerMetrics(tmp_path, RequestMetrics(), _worker(4, [2.0], {})).flush()
    values = _values(tmp_path)
    assert values['requests_total{"status": "200"}'] == 7
    assert values['latency_seconds_bucket{"le": "0.1"}'] == 1
    assert values['latency_seconds_bucket{"le": "1.0"}'] == 2
    assert values['latency_seconds_bucket{"le": "+Inf"}'] == 3
    assert values["latency_seconds_count{}"] == 3
    assert values["latency_seconds_sum{}"] == 2.55
    assert values["productcore_server_workers{}"] == 2
    assert not [name for name in values if "_created" in name]


async def test_request_metrics_are_summed_over_the_workers(tmp_path: Path) -> None:
    """The front door's counts and duration buckets of every worker add up, series by series."""
    await ServerMetrics(tmp_path, _requests(0.0002, 0.003), CollectorRegistry()).flush()
    await ServerMetrics(tmp_path, _requests(0.003, 0.3, 20.0), CollectorRegistry()).flush()
    values = _values(tmp_path)
    assert values[_key("productcore_http_requests_total", **_GET_X)] == 5
    assert values[_key("productcore_http_request_duration_seconds_sum", **_GET_X)] == pytest.approx(20.3062)
    bucket = "productcore_http_request_duration_seconds_bucket"
    buckets = {le: values[_key(bucket, le=le, **_GET_X)] for le in ("0.0005", "0.005", "0.5", "10.0", "+Inf")}
    assert buckets == {"0.0005": 1, "0.005": 3, "0.5": 4, "10.0": 4, "+Inf": 5}


async def test_gauges_of_live_workers_follow_their_rule(tmp_path: Path) -> None:
    """Degraded if any worker is (max), near-cache entries summed, connected only if all are (min)."""
    names = (
        "productcore_rate_limit_degraded",
        "productcore_cache_l1_entries",
        "productcore_cache_subscriber_connected",
    )
    for values in ((0, 3, 1), (1, 4, 0)):
        gauges = dict(zip(names, values, strict=True))
        await ServerMetrics(tmp_path, RequestMetrics(), _worker(0, [], gauges)).flush()
    merged = _values(tmp_path)
    assert [merged[name + "{}"] for name in names] == [1, 7, 0]


def test_a_stopped_worker_keeps_its_counts_but_not_its_gauges(tmp_path: Path) -> None:
    """A worker that wrote its snapshot and exited still counts in the totals (they never go down when
    a worker restarts), while its gauges, which described a process that is gone, are left out."""
    script = f"""
        import asyncio
        from pathlib import Path
        from prometheus_client import CollectorRegistry, Counter, Gauge
        from entrypoints.http.request_metrics import RequestMetrics
        from entrypoints.server_metrics import ServerMetrics
        registry = CollectorRegistry()
        Counter("requests", "Requests", ["status"], registry=registry).labels("200").inc(5)
        Gauge("productcore_cache_l1_entries", "Entries", registry=registry).set(100)
        requests = RequestMetrics()
        requests.record("GET", "/x", 200, 0.002)
        asyncio.run(ServerMetrics(Path({str(tmp_path)!r}), requests, registry).flush())
    """
    subprocess.run([sys.executable, "-c", textwrap.dedent(script)], check=True, timeout=60)
    worker = ServerMetrics(tmp_path, _requests(0.002), _worker(2, [], {"productcore_cache_l1_entries": 3}))
    asyncio.run(worker.flush())
    values = _values(tmp_path)
    assert values['requests_total{"status": "200"}'] == 7
    assert values[_key("productcore_http_requests_total", **_GET_X)] == 2
    assert values["productcore_cache_l1_entries{}"] == 3
    assert values["productcore_server_workers{}"] == 1


async def test_a_worker_writes_a_last_snapshot_as_it_stops(tmp_path: Path) -> None:
    """What a worker counted after its last periodic snapshot is written when its block ends."""
    registry = CollectorRegistry()
    requests = Counter("requests", "Requests", registry=registry)
    async with shared_metrics(RequestMetrics(), registry, {METRICS_DIR_VARIABLE: str(tmp_path)}) as server:
        assert server is not None
        requests.inc(9)
    assert _values(tmp_path)["requests_total{}"] == 9


async def test_without_serve_the_process_registry_is_the_whole(tmp_path: Path) -> None:
    """The library and the test app (no ``productcore serve``) share nothing and need no setup."""
    async with shared_metrics(RequestMetrics(), CollectorRegistry(), {}) as server:
        assert server is None


def test_every_gauge_of_the_app_has_a_rule() -> None:
    """A gauge added to the app without a rule would be summed over the workers, silently."""
    create_app(Settings.from_env({}))
    gauges = {family.name for family in REGISTRY.collect() if family.type == "gauge"}
    assert gauges - set(GAUGES) == set()
