"""Serve an app over real HTTP (granian, as ``productcore serve`` runs it, on loopback in a thread)."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from granian.constants import Interfaces
from granian.log import LogLevels
from granian.server.embed import Server
from litestar import Litestar


def _free_port(host: str) -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def _listening(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.2):
            return True
    except OSError:
        return False


@contextmanager
def live_server(app: Litestar, host: str = "127.0.0.1") -> Iterator[str]:
    """Run ``app`` under granian's embedded server in a thread of its own and yield its base URL."""
    port = _free_port(host)
    server = Server(
        app, address=host, port=port, interface=Interfaces.ASGI, websockets=False, log_level=LogLevels.warning
    )
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_until_complete, args=(server.serve(),), daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not _listening(host, port):
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the live server did not start")
        time.sleep(0.02)
    try:
        yield f"http://{host}:{port}"
    finally:
        loop.call_soon_threadsafe(server.stop)
        thread.join(timeout=30)
        loop.close()
