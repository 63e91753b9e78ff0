"""Serve an app over real HTTP (uvicorn on loopback, in a thread) for tests that need sockets."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn
from litestar import Litestar


@contextmanager
def live_server(app: Litestar, host: str = "127.0.0.1") -> Iterator[str]:
    """Run ``app`` under uvicorn (h11, no proxy-header rewriting) and yield its base URL."""
    config = uvicorn.Config(
        app, host=host, port=0, http="h11", proxy_headers=False, log_level="warning", lifespan="on"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="live-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the live server did not start")
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
