"""Memory: one worker's RSS with 100,000 products in its L1 (issue 8's memory target)."""

from __future__ import annotations

import re
import time
import urllib.request

from harness import wrk
from harness.procs import Server

PRODUCTS_IN_L1 = 100_000


def walk(server: Server, first: int, last: int, bound: float = 600) -> float:
    """Read each id of ``[first, last]`` once (32 connections); the seconds it took."""
    started = time.monotonic()
    start = first
    while time.monotonic() - started < bound:
        figures = wrk.run([(server.url, ["walk", "/products/", str(start), str(last + 1), "1"])], 32, 2)
        if figures["exhausted"]:
            return time.monotonic() - started
        start = max(first, int(figures["reached"]) - 32)  # requests in flight at the end went unanswered
    raise RuntimeError(f"could not read ids {first:,} to {last:,} of {server.name} in {bound:.0f} s")


def l1_entries(server: Server) -> int:
    """The worker's L1 entries, from ``/metrics``."""
    with urllib.request.urlopen(server.url + "/metrics", timeout=10) as response:
        text = response.read().decode()
    match = re.search(r"^productcore_cache_l1_entries\S* ([0-9.e+]+)$", text, re.MULTILINE)
    return int(float(match[1])) if match else 0


def measure(server: Server) -> dict[str, float]:
    """Fill the server's L1 with ``PRODUCTS_IN_L1`` products; its worker's RSS before and after."""
    before = server.worker_rss_bytes()
    seconds = walk(server, 1, PRODUCTS_IN_L1)
    return {
        "entries": l1_entries(server),
        "rss_before": before,
        "rss_after": server.worker_rss_bytes(),
        "fill_seconds": seconds,
    }
