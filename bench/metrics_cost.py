"""What metrics cost a worker: recording a request, a 429's counter, a snapshot, a merged scrape.

Usage: ``python bench/metrics_cost.py [--series N] [--workers N]``. In-process timing loops, no
servers: ``record`` is the front door's per-request call; a snapshot is what each worker of
``productcore serve`` writes once a second; a scrape is what the worker answering ``/metrics`` does
(its own snapshot, then reading and merging every worker's file, then rendering).
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from prometheus_client import REGISTRY, generate_latest

from entrypoints.http.ratelimit import REJECTED
from entrypoints.http.request_metrics import request_metrics
from entrypoints.metrics import cache_metrics
from entrypoints.server_metrics import Collected, ServerMetrics


def _per_call(run: Callable[[], object], calls: int) -> float:
    """Best of five loops of ``calls`` calls, in microseconds per call."""
    best = float("inf")
    for _ in range(5):
        started = time.perf_counter()
        for _ in range(calls):
            run()
        best = min(best, time.perf_counter() - started)
    return best / calls * 1e6


def _fill(series: int) -> None:
    """``series`` method/route/status series in the request metrics, as a busy worker has."""
    metrics = request_metrics()
    cache_metrics()
    for n in range(series):
        metrics.record("GET", f"/route/{n % 12}", 200 + n // 12, 0.001 * (n % 7))


async def _snapshot_and_scrape(directory: Path, workers: int) -> tuple[float, float, int]:
    """Microseconds for one worker's snapshot and for a scrape over ``workers`` files; the scrape's size."""
    servers = [ServerMetrics(directory, request_metrics()) for _ in range(workers)]
    for server in servers:
        await server.flush()
    rounds = 200
    started = time.perf_counter()
    for _ in range(rounds):
        await servers[0].flush()
    flush = (time.perf_counter() - started) / rounds * 1e6
    started = time.perf_counter()
    for _ in range(rounds):
        body = await servers[0].exposition()
    scrape = (time.perf_counter() - started) / rounds * 1e6
    return flush, scrape, len(body)


def main() -> None:
    """Print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--series", type=int, default=48, help="request-metric series per worker")
    parser.add_argument("--workers", type=int, default=2, help="snapshot files merged by a scrape")
    args = parser.parse_args()
    metrics = request_metrics()
    print(
        f"record (front door, per request): {_per_call(lambda: metrics.record('GET', '/x', 200, 0.0004), 1_000_000):.3f} µs"
    )
    rejected = REJECTED.labels("read")
    print(f"429 counter inc (prometheus_client): {_per_call(rejected.inc, 1_000_000):.3f} µs")
    _fill(args.series)
    collected = lambda: Collected([*REGISTRY.collect(), *metrics.collect()])  # noqa: E731
    print(f"single-process /metrics render: {_per_call(lambda: generate_latest(collected()), 200):.0f} µs")
    with tempfile.TemporaryDirectory() as scratch:
        flush, scrape, size = asyncio.run(_snapshot_and_scrape(Path(scratch), args.workers))
    print(f"worker snapshot (each second): {flush:.0f} µs")
    print(f"scrape over {args.workers} workers: {scrape:.0f} µs, {size} bytes")


if __name__ == "__main__":
    main()
