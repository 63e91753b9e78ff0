"""The metrics of every worker of one ``productcore serve``: a snapshot file per worker, merged on scrape.

Each worker keeps its metrics as plain numbers in its own memory, as a single process does (recording
a request stays a few dictionary operations), and writes all of them to a file of its own every
``FLUSH_INTERVAL`` seconds and when it stops: the request metrics as their plain numbers, the rest as
collected from its registry. The worker that answers
``/metrics`` writes its own file first, then reads every worker's and merges them: counters and
histograms are summed over every worker that ever ran (a stopped worker's last snapshot stays, so no
total goes down when a worker restarts), gauges are aggregated over the live workers by the rule
``GAUGES`` names for each.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import uuid
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
from prometheus_client import REGISTRY, generate_latest
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from entrypoints.http.request_metrics import RequestMetrics

METRICS_DIR_VARIABLE = "_PRODUCTCORE_METRICS_DIR"
"""Set by ``productcore serve`` for its workers: the directory of their snapshot files."""
FLUSH_INTERVAL = 1.0
"""Seconds between a worker's snapshots: how far behind another worker's numbers a scrape may be."""

SUMMED_TYPES = frozenset({"counter", "histogram", "summary"})
"""Families summed over every worker that ever ran."""

GAUGES: dict[str, Callable[[Iterable[float]], float]] = {
    "productcore_rate_limit_degraded": max,
    "productcore_cache_l1_entries": sum,
    "productcore_cache_subscriber_connected": min,
    "productcore_cache_relay_active": sum,
    "productcore_cache_relay_lag_seconds": max,
    "process_resident_memory_bytes": sum,
    "process_virtual_memory_bytes": sum,
    "process_open_fds": sum,
    "process_max_fds": min,
    "process_start_time_seconds": min,
    "python_info": max,
}
"""How each gauge of the live workers becomes the server's: degraded if any worker is, connected only
if every worker is, entries and memory summed, the oldest start. A gauge not named here is summed."""

WORKERS = "productcore_server_workers"

log = logging.getLogger("productcore.metrics")


def snapshot(registry: Collector) -> list[dict[str, Any]]:
    """Every family of ``registry`` as JSON-ready data, without the ``_created`` timestamps of counters
    and histograms (a sum of timestamps means nothing)."""
    families = []
    for family in registry.collect():
        created = family.name + "_created"
        samples = [[s.name, s.labels, s.value] for s in family.samples if s.name != created]
        families.append(
            {
                "name": family.name,
                "type": family.type,
                "help": family.documentation,
                "unit": family.unit,
                "samples": samples,
            }
        )
    return families


@dataclass(frozen=True)
class Snapshot:
    """One worker's request metrics and other families, as it last wrote them, and whether that worker
    still runs."""

    live: bool
    requests: list[list[Any]]
    families: list[dict[str, Any]]


def _runs(pid: int, started: float) -> bool:
    """True while the process that wrote a snapshot runs (the same pid and start time)."""
    try:
        return abs(float(psutil.Process(pid).create_time()) - started) < 0.01
    except psutil.Error:
        return False


def read_snapshots(directory: Path) -> list[Snapshot]:
    """The snapshots in ``directory``."""
    snapshots = []
    for path in sorted(directory.glob("*.json")):
        data = json.loads(path.read_bytes())
        live = _runs(data["pid"], data["started"])
        snapshots.append(Snapshot(live, data["requests"], data["families"]))
    return snapshots


@dataclass
class _Family:
    type: str
    help: str
    unit: str
    values: dict[tuple[str, tuple[tuple[str, str], ...]], list[float]] = field(default_factory=dict)


def merge(snapshots: Iterable[Snapshot]) -> list[Metric]:
    """The server's families: request metrics, counters and histograms summed over all snapshots,
    gauges aggregated over the live ones by ``GAUGES``; and ``productcore_server_workers``, the live
    snapshots."""
    requests = RequestMetrics()
    families: dict[str, _Family] = {}
    live = 0
    for worker in snapshots:
        live += worker.live
        requests.add_rows(worker.requests)
        for family in worker.families:
            summed = family["type"] in SUMMED_TYPES
            if not (summed or worker.live):
                continue
            merged = families.get(family["name"])
            if merged is None:
                merged = families[family["name"]] = _Family(family["type"], family["help"], family["unit"])
            for name, labels, value in family["samples"]:
                merged.values.setdefault((name, tuple(labels.items())), []).append(value)
    metrics = []
    for name, merged_family in families.items():
        metric = Metric(name, merged_family.help, merged_family.type, merged_family.unit)
        aggregate = sum if merged_family.type in SUMMED_TYPES else GAUGES.get(name, sum)
        for (sample, labels), values in merged_family.values.items():
            metric.add_sample(sample, dict(labels), aggregate(values))
        metrics.append(metric)
    workers = Metric(WORKERS, "Live worker processes whose metrics this scrape merged", "gauge")
    workers.add_sample(WORKERS, {}, live)
    return [*metrics, *requests.collect(), workers]


class Collected(Collector):
    """Families already collected (or merged), as something ``generate_latest`` can render."""

    def __init__(self, metrics: list[Metric]) -> None:
        self._metrics = metrics

    def collect(self) -> Iterator[Metric]:
        """Yield the families."""
        return iter(self._metrics)


class ServerMetrics:
    """This worker's part in the server's metrics: its snapshot file, and the merge on scrape.

    Args:
        directory: Where every worker of the server writes its snapshot.
        requests: This worker's request metrics.
        registry: This worker's other metrics.
    """

    def __init__(self, directory: Path, requests: RequestMetrics, registry: Collector = REGISTRY) -> None:
        self._directory = directory
        self._requests = requests
        self._registry = registry
        self._pid = os.getpid()
        self._started = psutil.Process(self._pid).create_time()
        self._path = directory / f"{self._pid}-{uuid.uuid4().hex[:8]}.json"
        self._lock = asyncio.Lock()

    async def flush(self) -> None:
        """Write this worker's snapshot (one at a time, so a newer one is never overwritten by an older)."""
        async with self._lock:
            data = {
                "pid": self._pid,
                "started": self._started,
                "requests": self._requests.rows(),
                "families": snapshot(self._registry),
            }
            await asyncio.to_thread(self._write, json.dumps(data).encode())

    def _write(self, data: bytes) -> None:
        partial = self._path.with_suffix(".partial")
        partial.write_bytes(data)
        os.replace(partial, self._path)

    async def exposition(self) -> bytes:
        """The whole server's metrics (this worker's as of now) in Prometheus text format, merged and
        rendered off the event loop."""
        await self.flush()
        return await asyncio.to_thread(self._render)

    def _render(self) -> bytes:
        return generate_latest(Collected(merge(read_snapshots(self._directory))))

    async def run(self, stop: asyncio.Event, interval: float = FLUSH_INTERVAL) -> None:
        """Write a snapshot every ``interval`` seconds until ``stop`` is set, then a last one."""
        while not stop.is_set():
            try:
                await asyncio.wait_for(stop.wait(), interval)
            except TimeoutError:
                try:
                    await self.flush()
                except OSError as error:
                    log.warning("could not write this worker's metrics snapshot: %s", error)
        await self.flush()


@asynccontextmanager
async def shared_metrics(
    requests: RequestMetrics, registry: Collector = REGISTRY, environ: Mapping[str, str] = os.environ
) -> AsyncIterator[ServerMetrics | None]:
    """Take part in the server's metrics while the block runs, when ``productcore serve`` asked for it
    (``METRICS_DIR_VARIABLE``); else yield None (a single process's registry is the whole of it)."""
    directory = environ.get(METRICS_DIR_VARIABLE)
    if not directory:
        yield None
        return
    server = ServerMetrics(Path(directory), requests, registry)
    await server.flush()
    stop = asyncio.Event()
    task = asyncio.create_task(server.run(stop))
    try:
        yield server
    finally:
        stop.set()
        await task
