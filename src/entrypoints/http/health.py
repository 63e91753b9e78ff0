"""Liveness and readiness probes."""

from __future__ import annotations

import asyncio

import msgspec
from litestar import Controller, Response, get
from litestar.datastructures import State

from entrypoints.http.freshness import NO_STORE
from productcore.ports import HealthCheck, HealthStatus


class HealthReport(msgspec.Struct, frozen=True):
    """Overall status and each check's outcome."""

    status: str
    checks: dict[str, HealthStatus]


class HealthController(Controller):
    """``/health/live`` says the process runs; ``/health/ready`` that it can serve requests."""

    path = "/health"
    tags = ["health"]
    cache_control = NO_STORE

    @get("/live", operation_id="live", summary="Liveness probe", response_description="The process runs")
    async def live(self) -> dict[str, str]:
        """Answer while the event loop runs."""
        return {"status": "ok"}

    @get(
        "/ready",
        operation_id="ready",
        summary="Readiness probe",
        response_description="Ready: every check passed",
    )
    async def ready(self, state: State) -> Response[HealthReport]:
        """Check every dependency concurrently; 503 when any of them is not ready."""
        checks: list[HealthCheck] = state.health_checks
        results = await asyncio.gather(*(check.check() for check in checks))
        ok = all(r.ok for r in results)
        report = HealthReport("ready" if ok else "unavailable", {r.name: r for r in results})
        return Response(report, status_code=200 if ok else 503)
