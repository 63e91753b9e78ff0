"""``productcore serve`` stops gracefully on SIGTERM: not ready, then no new connections, nothing lost."""

from __future__ import annotations

import asyncio
import signal
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest

from adapters.postgres import migrate
from tests.integration.nginx.cluster import Instance, start_instance
from tests.servers import scratch_database

DRAIN = 1.5
"""Seconds the server keeps serving after SIGTERM (PRODUCTCORE_SHUTDOWN_DRAIN)."""
EXIT_BOUND = DRAIN + 15.0
"""SIGTERM to exit: the drain, then requests in flight and each worker's lifespan (generous: a loaded
2-core machine can take seconds to stop a process tree)."""
CLIENTS = 16


class _ClosedUnanswered(OSError):
    """The server closed a connection without sending a byte of a response."""


def _get(port: int, path: str) -> int:
    """One GET on a connection of its own (as clients behind a connection-per-request proxy do)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    if not data:
        raise _ClosedUnanswered("closed without a response")
    return int(data.split(b" ", 2)[1])


@pytest.fixture(name="serving")
def _serving(postgres_admin_url: str, redis_url: str, tmp_path: Path) -> Iterator[Instance]:
    """One ``productcore serve`` with a few products, on a database of this test's own."""
    with scratch_database(postgres_admin_url, prefix="productcore_shutdown") as url:
        asyncio.run(migrate(url))
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(
                "INSERT INTO products (name, price, stock) SELECT 'p', 1, 1 FROM generate_series(1, 20)"
            )
        env = {
            "PRODUCTCORE_DATABASE_URL": url,
            "PRODUCTCORE_REDIS_URL": redis_url,
            "PRODUCTCORE_CACHE_KEY_PREFIX": f"productcore-shutdown-{tmp_path.name}:cache",
            "PRODUCTCORE_RATE_LIMIT_ENABLED": "false",
            "PRODUCTCORE_SHUTDOWN_DRAIN": str(DRAIN),
            "PRODUCTCORE_LOG_LEVEL": "warning",
        }
        instance = start_instance(env, tmp_path)
        try:
            deadline = time.monotonic() + 90
            while not instance.ready():
                assert instance.process.poll() is None, instance.log.read_text()
                assert time.monotonic() < deadline, "serve did not become ready"
                time.sleep(0.1)
            yield instance
        finally:
            instance.stop()


def test_sigterm_drains_then_stops_without_losing_a_request(serving: Instance) -> None:
    """After SIGTERM readiness is 503 at once while reads are still served; connections are refused only
    once the drain is over; no request fails during the drain; the process exits 0 in bounded time.

    The one loss allowed is at the very moment the listener closes, and only for connections racing
    it: a connection the kernel completed but the server had not yet accepted is reset when the
    listening socket closes, and one accepted with its request still unread is closed unanswered (no
    server can take either back; that is why the drain exists: the load balancer stops sending new
    connections while readiness is 503, long before the close). Each client has at most one
    connection open, so at most one such loss per client.
    """
    events: dict[str, float] = {}
    outcomes: dict[str, int] = {"ok": 0, "refused": 0}
    failures: list[tuple[float, str]] = []
    stop = threading.Event()
    lock = threading.Lock()

    def note(event: str) -> None:
        with lock:
            events.setdefault(event, time.monotonic())

    def read(seed: int) -> None:
        n = seed
        while not stop.is_set():
            n += 1
            try:
                status = _get(serving.port, f"/products/{1 + n % 20}")
            except ConnectionRefusedError:
                note("refused")
                with lock:
                    outcomes["refused"] += 1
                time.sleep(0.01)
                continue
            except OSError as error:
                with lock:
                    failures.append((time.monotonic(), f"{type(error).__name__}: {error}"))
                continue
            with lock:
                outcomes["ok"] += 1
                if status != 200:
                    failures.append((time.monotonic(), f"status {status}"))
            if status == 200 and "sigterm" in events:
                note("served after sigterm")

    def watch_readiness() -> None:
        while not stop.is_set():
            try:
                if _get(serving.port, "/health/ready") == 503:
                    note("not ready")
            except OSError:
                pass
            time.sleep(0.02)

    threads = [threading.Thread(target=read, args=(n * 1000,)) for n in range(CLIENTS)]
    threads.append(threading.Thread(target=watch_readiness))
    for thread in threads:
        thread.start()
    try:
        time.sleep(1.0)
        assert outcomes["ok"] > 0, "no load before SIGTERM"
        note("sigterm")
        serving.process.send_signal(signal.SIGTERM)  # the main process only, as Docker and Kubernetes do
        serving.process.wait(timeout=EXIT_BOUND)
        note("exited")
        time.sleep(0.3)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
    at = {name: round(moment - events["sigterm"], 3) for name, moment in events.items()}
    lost = [(round(moment - events["sigterm"], 3), text) for moment, text in failures]
    print(f"\nafter SIGTERM (s): {at}; requests: {outcomes}; lost at the close: {lost}")
    assert serving.process.returncode == 0
    assert not [text for moment, text in failures if moment < events["sigterm"]], lost
    during_drain = [(moment, text) for moment, text in lost if moment < DRAIN * 0.9]
    assert during_drain == [], f"requests failed during the drain: {during_drain}"
    assert all(text.startswith(("ConnectionResetError", "_ClosedUnanswered")) for _, text in lost), lost
    assert len(lost) <= CLIENTS, lost
    assert at["not ready"] < at["refused"], "readiness went 503 before any connection was refused"
    assert at["not ready"] < DRAIN / 2
    assert at["served after sigterm"] < at["refused"]
    assert at["refused"] >= DRAIN * 0.9, "connections were accepted for the whole drain"
    assert at["exited"] <= EXIT_BOUND


def test_ctrl_c_stops_without_a_drain(serving: Instance) -> None:
    """SIGINT (Ctrl-C in a terminal) skips the drain: a developer's server stops at once, exit 0."""
    serving.process.send_signal(signal.SIGINT)
    serving.process.wait(timeout=EXIT_BOUND)
    assert serving.process.returncode == 0
    assert "not ready any more" not in serving.log.read_text()
    with pytest.raises(httpx.TransportError):
        httpx.get(f"http://{serving.address}/health/live", timeout=1)
