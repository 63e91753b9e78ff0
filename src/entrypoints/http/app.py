"""Build the Litestar application around a container; ``create_app`` is also the ASGI factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar import Litestar, Router
from litestar.datastructures import State
from litestar.logging import LoggingConfig
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components

from entrypoints.container import Application, running
from entrypoints.http.access import (
    API_KEY_SCHEME,
    SECURITY_SCHEMES,
    access_rules,
    input_limits,
    key_check,
)
from entrypoints.http.access_log import AccessLog
from entrypoints.http.contract import complete
from entrypoints.http.docs_ui import assets_router, render_plugins
from entrypoints.http.draining import Draining
from entrypoints.http.freshness import SCHEMA, compression
from entrypoints.http.front import FrontDoor
from entrypoints.http.health import HealthController
from entrypoints.http.methods import route_methods
from entrypoints.http.metrics import SERVER_METRICS_STATE_KEY, MetricsController
from entrypoints.http.problems import problem_details_plugin
from entrypoints.http.products import ProductController
from entrypoints.http.request_metrics import request_metrics
from entrypoints.http.schemas import PriceStockIn, close_objects
from entrypoints.server_metrics import shared_metrics
from entrypoints.settings import Settings

VERSION = "0.1.0"


def create_app(settings: Settings | None = None, container: Application | None = None) -> Litestar:
    """Return the HTTP app; resources open in its lifespan and close when it stops.

    Args:
        settings: Configuration; read from the environment when omitted.
        container: A container to take objects from (tests pass one with overrides).
    """
    settings = settings or Settings.from_env()
    container = container or Application(settings=settings)
    access_log = AccessLog(log_format=settings.log_format) if settings.access_log else None
    metrics = request_metrics()

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        # Metrics are left before the container closes, so the last snapshot still has every cache layer.
        async with running(container) as runtime, shared_metrics(metrics) as server_metrics:
            app.state[SERVER_METRICS_STATE_KEY] = server_metrics
            app.state.product_service = front.service = runtime.service
            app.state.health_checks = [*runtime.health_checks, Draining.from_environment()]
            front.limiter = await container.gateways.rate_limiter()
            if access_log is not None:
                access_log.start()
            try:
                yield
            finally:
                front.service = front.limiter = None
                if access_log is not None:
                    access_log.close()

    app = Litestar(
        route_handlers=[ProductController, HealthController, MetricsController, assets_router()],
        lifespan=[lifespan],
        state=State({"settings": settings}),
        plugins=[problem_details_plugin()],
        middleware=[key_check(settings)],
        request_max_body_size=settings.max_body_bytes,
        compression_config=compression(),
        logging_config=LoggingConfig(
            root={"level": settings.log_level.upper(), "handlers": ["queue_listener"]},
            log_exceptions="never",
        ),
        openapi_config=OpenAPIConfig(
            title="productcore",
            version=VERSION,
            description="Product prices and stock, with a version-consistent cache.",
            openapi_router=Router("/docs", route_handlers=[], include_in_schema=False, cache_control=SCHEMA),
            render_plugins=render_plugins(),
            components=Components(security_schemes=SECURITY_SCHEMES),
            security=[{API_KEY_SCHEME: []}] if settings.require_key_for_reads else None,
        ),
    )
    close_objects(app.openapi_schema, PriceStockIn)
    complete(app.openapi_schema)
    # Outside routing, so that HEAD reaches the GET handlers and unrouted requests (404, 405) are charged.
    front = FrontDoor(
        app.asgi_handler,
        rules=access_rules(settings),
        limits=input_limits(settings),
        routes=route_methods(app),
        metrics=metrics,
        access_log=access_log,
    )
    app.asgi_handler = front
    return app
