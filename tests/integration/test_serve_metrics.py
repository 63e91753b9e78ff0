"""``productcore serve --workers 2``: ``/metrics`` counts the whole server, whichever worker answers."""

from __future__ import annotations

import asyncio
import json
import signal
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil
import psycopg
import pytest
from prometheus_client.parser import text_string_to_metric_families

from adapters.postgres import migrate
from entrypoints.server_metrics import FLUSH_INTERVAL
from tests.integration.nginx.cluster import Instance, start_instance
from tests.servers import scratch_database

WORKERS = 2
READ_BUDGET = 20
SETTLE = 2.5 * FLUSH_INTERVAL
"""Long enough for every worker to have written a snapshot since its last request."""
SCRAPES = 8

Totals = Counter[tuple[str, str]]


@dataclass
class Server:
    """``productcore serve --workers 2``, a client opening a connection per request (so either worker
    may answer each), and the directory where serve makes its scratch directory."""

    instance: Instance
    client: httpx.Client
    tmp: Path

    def snapshots(self) -> list[Path]:
        """The workers' snapshot files."""
        return sorted(self.tmp.glob("productcore-serve-*/metrics/*.json"))

    def workers(self) -> set[int]:
        """The worker processes' ids."""
        return {child.pid for child in psutil.Process(self.instance.process.pid).children()}

    def ready(self) -> bool:
        """True once ``/health/ready`` answers 200."""
        try:
            return self.client.get("/health/ready").status_code == 200
        except httpx.TransportError:
            return False


@pytest.fixture(name="server")
def _server(postgres_admin_url: str, redis_url: str, tmp_path: Path) -> Iterator[Server]:
    """``productcore serve --workers 2`` with a read budget of 20 a minute, on a database of its own."""
    run = uuid.uuid4().hex[:8]
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    with scratch_database(postgres_admin_url, prefix="productcore_metrics") as url:
        asyncio.run(migrate(url))
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(
                "INSERT INTO products (name, price, stock) SELECT 'p', 1, 1 FROM generate_series(1, 5)"
            )
        env = {
            "PRODUCTCORE_DATABASE_URL": url,
            "PRODUCTCORE_REDIS_URL": redis_url,
            "PRODUCTCORE_CACHE_KEY_PREFIX": f"productcore-metrics-{run}:cache",
            "PRODUCTCORE_RATE_LIMIT_KEY_PREFIX": f"productcore-metrics-{run}:ratelimit",
            "PRODUCTCORE_RATE_LIMIT_READ": f"{READ_BUDGET}/minute",
            "PRODUCTCORE_RATE_LIMIT_WRITE": "1000/minute",
            "PRODUCTCORE_RATE_LIMIT_STRATEGY": "moving-window",
            "PRODUCTCORE_LOG_LEVEL": "warning",
            "TMPDIR": str(tmp),
        }
        instance = start_instance(env, tmp_path, workers=WORKERS)
        limits = httpx.Limits(max_keepalive_connections=0)
        with httpx.Client(base_url=f"http://{instance.address}", timeout=10, limits=limits) as client:
            server = Server(instance, client, tmp)
            try:
                deadline = time.monotonic() + 90
                while not server.ready():
                    assert instance.process.poll() is None, instance.log.read_text()[-3000:]
                    assert time.monotonic() < deadline, "serve did not become ready"
                    time.sleep(0.1)
                yield server
            finally:
                instance.stop()


def _send(server: Server, method: str, path: str, times: int) -> Totals:
    """``times`` requests; their statuses counted by method."""
    sent: Totals = Counter()
    for _ in range(times):
        sent[method, str(server.client.request(method, path).status_code)] += 1
    return sent


def _api_requests(snapshot: Path) -> int:
    """The API requests (probes and scrapes left out) one worker's snapshot counts."""
    rows = json.loads(snapshot.read_bytes())["requests"]
    return sum(count for _, path, _, count, *_ in rows if not path.startswith(("/metrics", "/health/")))


def _mixed_load(server: Server) -> Totals:
    """Reads, 404s, 405s and reads past the budget (429s, refused by the front door), then 404s
    until each worker has answered some (so a scrape by either one must count the other's)."""
    sent = _send(server, "GET", "/products/1", 6)
    sent += _send(server, "GET", "/no/such/path", 4)
    sent += _send(server, "POST", "/products/1", 3)
    sent += _send(server, "GET", "/products/2", READ_BUDGET)
    assert sent == {("GET", "200"): 16, ("GET", "404"): 4, ("POST", "405"): 3, ("GET", "429"): 10}
    for _ in range(10):
        time.sleep(SETTLE)
        answered = [_api_requests(path) for path in server.snapshots()]
        if len(answered) == WORKERS and min(answered) > 0:
            return sent
        sent += _send(server, "POST", "/products/1", 5)
    raise AssertionError(f"requests were not spread over the workers: {answered}")


def _scrape(server: Server) -> dict[str, object]:
    """One ``/metrics``: the API's requests by method and status (probes and scrapes left out), the
    histogram's count, the 429s by budget and the live workers."""
    text = server.client.get("/metrics").text
    requests: Totals = Counter()
    durations: Totals = Counter()
    rate_limited: dict[str, int] = {}
    workers = None
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = sample.labels
            if labels.get("path", "").startswith(("/metrics", "/health/")):
                continue
            key = (labels.get("method", ""), labels.get("status", ""))
            if sample.name == "productcore_http_requests_total":
                requests[key] += int(sample.value)
            elif sample.name == "productcore_http_request_duration_seconds_count":
                durations[key] += int(sample.value)
            elif sample.name == "productcore_rate_limited_requests_total":
                rate_limited[labels["policy"]] = int(sample.value)
            elif sample.name == "productcore_server_workers":
                workers = int(sample.value)
    return {"requests": +requests, "durations": +durations, "rate_limited": rate_limited, "workers": workers}


def _expected(sent: Totals) -> dict[str, object]:
    rate_limited = {"read": sent["GET", "429"]}
    return {"requests": sent, "durations": sent, "rate_limited": rate_limited, "workers": WORKERS}


def test_every_scrape_counts_the_requests_of_every_worker(server: Server) -> None:
    """With two workers, each having answered some of the requests, every one of several scrapes
    (answered by either worker) counts every request sent: 404s, 405s and the front door's 429s
    included, and the 429s by budget."""
    sent = _mixed_load(server)
    scrapes = [_scrape(server) for _ in range(SCRAPES)]
    assert scrapes == [_expected(sent)] * SCRAPES


def test_totals_survive_a_restart_of_every_worker(server: Server) -> None:
    """SIGHUP makes granian replace its workers one by one; no scrape during or after it loses a count
    of the old workers (each wrote a last snapshot as it stopped), requests to the new ones add to the
    totals, and the snapshots are removed when serve stops."""
    sent = _mixed_load(server)
    old = server.workers()
    assert len(old) == WORKERS
    assert _scrape(server) == _expected(sent)
    server.instance.process.send_signal(signal.SIGHUP)
    during = 0
    deadline = time.monotonic() + 60
    while old & server.workers() or len(server.workers()) != WORKERS or not server.ready():
        assert time.monotonic() < deadline, "granian did not replace its workers within 60 s"
        during += 1
        assert _scrape(server)["requests"] == sent, f"scrape {during} during the restart"
        time.sleep(0.1)
    assert during > 5
    assert len(server.snapshots()) == 2 * WORKERS
    after = _send(server, "POST", "/products/1", 5)
    time.sleep(SETTLE)
    assert [_scrape(server) for _ in range(SCRAPES)] == [_expected(sent + after)] * SCRAPES
    server.instance.terminate()
    assert server.instance.process.returncode == 0
    assert list(server.tmp.iterdir()) == []
