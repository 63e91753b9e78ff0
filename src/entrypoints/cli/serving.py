"""Run the HTTP app under granian, the fastest ASGI server measured for it (README, Performance)."""

from __future__ import annotations

from granian.constants import Interfaces, Loops
from granian.log import LogLevels
from granian.server import Server

APP = "entrypoints.http.app:create_app"


def run_server(host: str, port: int, *, workers: int, log_level: str) -> None:
    """Serve the app until SIGINT or SIGTERM; in-flight requests finish and each worker's lifespan ends.

    The app writes its own access log (``PRODUCTCORE_ACCESS_LOG``), so granian's is left off. Forwarded
    headers are left to the app, which believes them only from ``PRODUCTCORE_TRUSTED_PROXIES``.
    """
    Server(
        APP,
        address=host,
        port=port,
        interface=Interfaces.ASGI,
        factory=True,
        workers=workers,
        loop=Loops.auto,
        websockets=False,
        log_level=LogLevels(log_level.lower()),
        log_access=False,
    ).serve()
