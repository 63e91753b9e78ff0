"""Two ``productcore serve`` processes on one embedded data directory share its PostgreSQL and its Valkey."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import psutil
import pytest

from entrypoints.apikeys import WRITE, generate

# docs/reliability.md: an API write reaches other instances within 50 ms, a change made elsewhere
# (SQL, the CLI) within 500 ms.
DELIVERY_BOUND = 0.050
RELAY_BOUND = 0.500


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _within(condition: Callable[[], bool], seconds: float) -> float:
    """Poll ``condition`` until it holds; return how long that took, failing after ``seconds``."""
    start = time.monotonic()
    while not condition():
        assert time.monotonic() - start < seconds, f"not within {seconds * 1000:.0f} ms"
    return time.monotonic() - start


class Serve:
    """A ``productcore serve`` process of its own on a free port."""

    def __init__(self, env: dict[str, str]) -> None:
        self.port = _free_port()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "entrypoints.cli.main", "serve", "--port", str(self.port)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.http = httpx.Client(base_url=f"http://127.0.0.1:{self.port}", timeout=5)

    def wait_ready(self) -> None:
        deadline = time.monotonic() + 90
        while True:
            assert self.process.poll() is None, self.process.stdout.read() if self.process.stdout else ""
            try:
                if self.http.get("/health/ready").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "serve did not become ready in 90 s"
            time.sleep(0.2)

    def version(self, product_id: int) -> int:
        response = self.http.get(f"/products/{product_id}")
        assert response.status_code == 200, response.text
        return int(response.json()["version"])

    def stop(self) -> None:
        self.http.close()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        output, _ = self.process.communicate(timeout=30)
        assert self.process.returncode == 0, output


@pytest.fixture(name="env")
def _env(tmp_path: Path) -> dict[str, str]:
    """An environment with no server URLs (embedded servers in ``tmp_path``) and one write key."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRODUCTCORE_")}
    token, key = generate("e2e", [WRITE])
    env |= {
        "PRODUCTCORE_DATA_DIR": str(tmp_path),
        "PRODUCTCORE_API_KEYS": key.config_entry,
        "PRODUCTCORE_TEST_WRITE_TOKEN": token,
        "PRODUCTCORE_RATE_LIMIT_READ": "1000000/minute",
        "PRODUCTCORE_RATE_LIMIT_WRITE": "1000000/minute",
    }
    return env


@pytest.fixture(name="servers")
def _servers(env: dict[str, str], tmp_path: Path) -> Iterator[tuple[Serve, Serve]]:
    """Two serve processes on the data directory (seeded first); afterwards no server may be left."""
    seed = [sys.executable, "-m", "entrypoints.cli.main", "seed", "--count", "10"]
    subprocess.run(seed, env=env, check=True, capture_output=True, timeout=120)
    a = Serve(env)
    a.wait_ready()
    b = Serve(env)
    try:
        b.wait_ready()
        yield a, b
    finally:
        a.stop()
        b.stop()
    pids = [_valkey_pid(tmp_path), _postgres_pid(tmp_path)]
    time.sleep(0.5)
    alive = [p for p in pids if psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE]
    assert alive == [], "the embedded servers outlived their last user"


def _valkey_pid(data_dir: Path) -> int:
    state = json.loads((data_dir / "valkey" / "server.json").read_text())
    return int(state["server"]["pid"]) if state["server"] else 0


def _postgres_pid(data_dir: Path) -> int:
    pidfile = data_dir / "postgres" / "postmaster.pid"
    return int(pidfile.read_text().split()[0]) if pidfile.exists() else 0


def test_two_serve_processes_on_one_data_dir_share_the_cache(
    servers: tuple[Serve, Serve], env: dict[str, str], tmp_path: Path
) -> None:
    """A CLI update and a PUT through A reach B (and A) within the docs' bounds, through one Valkey."""
    a, b = servers
    state = json.loads((tmp_path / "valkey" / "server.json").read_text())
    assert len(state["users"]) == 2, "both serve processes use the data directory's one Valkey"

    old = b.version(5)
    assert b.version(5) == a.version(5) == old, "both now hold the old version in their caches"
    update = [sys.executable, "-m", "entrypoints.cli.main", "update", "5", "--price", "55.55", "--stock", "5"]
    result = subprocess.run(update, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["version"] == old + 1
    cli_delay = _within(lambda: b.version(5) == a.version(5) == old + 1, RELAY_BOUND)

    headers = {"Authorization": f"Bearer {env['PRODUCTCORE_TEST_WRITE_TOKEN']}"}
    put = a.http.put("/products/5", json={"price": "66.66", "stock": 66}, headers=headers)
    assert put.status_code == 200, put.text
    assert put.json()["version"] == old + 2
    put_delay = _within(lambda: b.version(5) == old + 2, DELIVERY_BOUND)
    print(f"\nCLI update -> A, B: {cli_delay * 1e3:.1f} ms, PUT via A -> B: {put_delay * 1e3:.1f} ms")

    valkey = _valkey_pid(tmp_path)
    a.stop()
    assert psutil.pid_exists(valkey), "the Valkey stays up for B after A (its starter) exits"
    assert b.http.get("/health/ready").status_code == 200
    assert b.version(5) == old + 2
