"""Readiness during a graceful stop: not ready once the serve command has begun to drain this server."""

from __future__ import annotations

import os
from pathlib import Path

from productcore.ports import HealthStatus

DRAIN_FLAG_VARIABLE = "_PRODUCTCORE_DRAIN_FLAG"
"""Set by ``productcore serve`` for its workers: the file that exists while the server drains."""


class Draining:
    """A readiness check that fails while the server drains before stopping (load balancers let go).

    Args:
        flag: The file whose existence means "draining", or None when nothing drains this process
            (the app not started by ``productcore serve``).
    """

    def __init__(self, flag: Path | None) -> None:
        self._flag = flag

    @classmethod
    def from_environment(cls) -> Draining:
        """The check for the flag ``productcore serve`` named in the environment, if any."""
        path = os.environ.get(DRAIN_FLAG_VARIABLE)
        return cls(Path(path) if path else None)

    async def check(self) -> HealthStatus:
        """Not ready once draining has begun."""
        draining = self._flag is not None and self._flag.exists()
        return HealthStatus("shutdown", not draining, {"draining": draining})
