"""Run the HTTP app under granian, the fastest ASGI server measured for it, and stop it gracefully.

On SIGTERM (what orchestrators, compose and systemd send) the server drains first: readiness answers
503 at once, so load balancers take the instance out, while requests are still served for
``PRODUCTCORE_SHUTDOWN_DRAIN`` seconds; then the listener closes, requests in flight finish (within
``PRODUCTCORE_SHUTDOWN_TIMEOUT``), each worker's lifespan ends, and the process exits. Ctrl-C
(SIGINT), or a second SIGTERM, skips the drain.
"""

from __future__ import annotations

import logging
import os
import signal
import tempfile
import threading
from pathlib import Path
from typing import Any

from granian.constants import Interfaces, Loops
from granian.log import LogLevels
from granian.server import Server

from entrypoints.http.draining import DRAIN_FLAG_VARIABLE
from entrypoints.server_metrics import METRICS_DIR_VARIABLE

APP = "entrypoints.http.app:create_app"

log = logging.getLogger("productcore.serve")


class _DrainingServer(Server):  # type: ignore[misc,valid-type]
    """granian's server, with a drain between SIGTERM and closing the listener."""

    def __init__(self, *args: Any, drain: float, flag: Path, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._drain = drain
        self._flag = flag
        self._draining = False

    def signal_handler_interrupt(self, signum: int | None = None, *args: Any, **kwargs: Any) -> None:
        """First SIGTERM: drain, then stop; anything else: stop now."""
        if self._draining or signum != signal.SIGTERM or self._drain <= 0:
            super().signal_handler_interrupt()
            return
        self._draining = True
        self._flag.touch()
        log.warning("SIGTERM: not ready any more; serving %.1f s more before closing", self._drain)
        timer = threading.Timer(self._drain, super().signal_handler_interrupt)
        timer.daemon = True
        timer.start()


def run_server(host: str, port: int, *, workers: int, log_level: str, drain: float, timeout: float) -> None:
    """Serve the app until SIGINT or SIGTERM (see the module docstring).

    The app writes its own access log (``PRODUCTCORE_ACCESS_LOG``), so granian's is left off. Forwarded
    headers are left to the app, which believes them only from ``PRODUCTCORE_TRUSTED_PROXIES``. The
    workers' metric snapshots go to an empty directory of this server's own, removed when it stops.
    """
    with tempfile.TemporaryDirectory(prefix="productcore-serve-") as scratch:
        flag = Path(scratch) / "draining"
        metrics = Path(scratch) / "metrics"
        metrics.mkdir()
        os.environ[DRAIN_FLAG_VARIABLE] = str(flag)
        os.environ[METRICS_DIR_VARIABLE] = str(metrics)
        _DrainingServer(
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
            workers_kill_timeout=max(1, round(timeout)),
            drain=drain,
            flag=flag,
        ).serve()
