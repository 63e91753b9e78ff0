"""``/metrics`` in Prometheus text format: this process's registry, or the whole server's under serve."""

from __future__ import annotations

from litestar import Controller, Response, get
from litestar.datastructures import State
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

from entrypoints.http.freshness import NO_STORE
from entrypoints.http.request_metrics import request_metrics
from entrypoints.server_metrics import Collected, ServerMetrics

SERVER_METRICS_STATE_KEY = "server_metrics"
"""Where the lifespan puts the worker's ``ServerMetrics`` when ``productcore serve`` runs it."""


class MetricsController(Controller):
    """For scrapers, so kept out of the API's OpenAPI schema."""

    path = "/metrics"
    include_in_schema = False
    cache_control = NO_STORE

    @get(operation_id="metrics")
    async def metrics(self, state: State) -> Response[bytes]:
        """Every metric: of all the server's workers under ``productcore serve``, else of this process."""
        server: ServerMetrics | None = state.get(SERVER_METRICS_STATE_KEY)
        if server is None:
            body = generate_latest(Collected([*REGISTRY.collect(), *request_metrics().collect()]))
        else:
            body = await server.exposition()
        return Response(body, media_type=CONTENT_TYPE_LATEST)
