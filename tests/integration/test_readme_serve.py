"""The README's run command works as written: `productcore serve --demo` on embedded servers."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil
import pytest


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _cmdline(process: psutil.Process) -> str:
    return " ".join(process.info["cmdline"] or [])


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM])
def test_serve_demo_answers_with_demo_products_and_stops_its_servers(
    tmp_path: Path, stop: signal.Signals
) -> None:
    """With no URLs configured, serve --demo starts embedded servers, seeds, serves, and cleans up on exit."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRODUCTCORE_")}
    env["PRODUCTCORE_DATA_DIR"] = str(tmp_path)
    process = subprocess.Popen(
        [sys.executable, "-m", "entrypoints.cli.main", "serve", "--demo", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 90
        while True:
            assert process.poll() is None, process.stdout.read() if process.stdout else ""
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health/ready", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "serve --demo did not become ready in 90 s"
            time.sleep(0.3)
        response = httpx.get(f"http://127.0.0.1:{port}/products/1", timeout=5)
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("application/json")
        assert response.json()["id"] == 1
        assert httpx.get(f"http://127.0.0.1:{port}/products", timeout=5).json()["meta"]["total"] == 10_000
        server_pids = [p.pid for p in psutil.process_iter(["cmdline"]) if str(tmp_path) in _cmdline(p)]
        assert server_pids, "no embedded server found running from the data directory"
    finally:
        process.send_signal(stop)
        output, _ = process.communicate(timeout=30)
    assert process.returncode == 0, output
    deadline = time.monotonic() + 5  # the servers' watchdogs leave within a second of their servers
    while (alive := [p for p in server_pids if _running(p)]) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert alive == []


def _running(pid: int) -> bool:
    try:
        return bool(psutil.Process(pid).status() != psutil.STATUS_ZOMBIE)
    except psutil.Error:
        return False
