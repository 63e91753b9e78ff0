"""The composition root: the only module that knows every concrete class.

The HTTP app, the CLI and library users build their object graph here::

    async with open_service(Settings.from_env()) as service:
        product = await service.get(1)
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from typing import TypeVar

from dependency_injector import containers, providers
from psycopg_pool import AsyncConnectionPool

from adapters.breaker import CircuitBreaker
from adapters.embedded import embedded_postgres
from adapters.postgres import (
    PoolSettings,
    PostgresHealth,
    PostgresProductRepository,
    check_schema,
    migrate,
    open_pool,
)
from adapters.postgres.relay import PostgresOutboxMonitor
from adapters.ratelimit import Limiter, open_limiter
from entrypoints import caching
from entrypoints.consumers.relay import RelayHealth
from entrypoints.settings import Settings
from productcore.ports import HealthCheck
from productcore.service import ProductService

T = TypeVar("T")


async def database_url(settings: Settings) -> AsyncIterator[str]:
    """Yield the configured database URL, or run an embedded PostgreSQL and yield its URL."""
    if settings.database_url is not None:
        yield settings.database_url
        return
    server = embedded_postgres(settings.data_path / "postgres")
    url = await asyncio.to_thread(server.__enter__)
    try:
        yield url
    finally:
        await asyncio.to_thread(server.__exit__, None, None, None)


async def database_pool(url: str, settings: Settings) -> AsyncIterator[AsyncConnectionPool]:
    """Migrate if configured to, open the pool, and refuse a schema this code does not know."""
    if settings.migrate_on_start:
        await migrate(url)
    pool_settings = PoolSettings(
        min_size=settings.db_pool_min,
        max_size=settings.db_pool_max,
        acquire_timeout=settings.db_pool_timeout,
        connect_timeout=settings.db_connect_timeout,
        statement_timeout=settings.db_statement_timeout,
    )
    async with open_pool(url, pool_settings) as pool:
        await check_schema(pool)
        yield pool


async def rate_limiter(redis_url: str | None, settings: Settings) -> AsyncIterator[Limiter | None]:
    """Yield the HTTP rate limiter over Redis at ``redis_url`` (memory when None); None when turned off.

    ``redis_url`` is the cache's resolved server (configured or embedded); with caching off, the
    configured ``PRODUCTCORE_REDIS_URL`` still holds the budgets.
    """
    redis_url = redis_url or settings.redis_url
    if not settings.rate_limit_enabled:
        yield None
        return
    async with open_limiter(
        redis_url,
        strategy=settings.rate_limit_strategy,
        key_prefix=settings.rate_limit_key_prefix,
        store_timeout=settings.rate_limit_timeout,
    ) as limiter:
        yield limiter


class Gateways(containers.DeclarativeContainer):
    """Connections to the outside world, opened and closed as resources."""

    settings = providers.Dependency(instance_of=Settings)
    database_url = providers.Resource(database_url, settings)
    db_pool = providers.Resource(database_pool, database_url, settings)
    redis_url = providers.Resource(caching.redis_url, settings)
    redis_client = providers.Resource(caching.redis_client, redis_url, settings)
    cache_layer = providers.Resource(caching.cache_layer, redis_client, settings)
    relay = providers.Resource(caching.change_relay, database_url, cache_layer, settings)
    rate_limiter = providers.Resource(rate_limiter, redis_url, settings)


class Services(containers.DeclarativeContainer):
    """The adapters and use cases built on the gateways."""

    settings = providers.Dependency(instance_of=Settings)
    gateways = providers.DependenciesContainer()

    db_breaker = providers.Singleton(
        CircuitBreaker, settings.provided.db_breaker_failures, settings.provided.db_breaker_reset
    )
    repository = providers.Singleton(PostgresProductRepository, pool=gateways.db_pool, breaker=db_breaker)
    cache_layer = gateways.cache_layer
    product_service = providers.Singleton(
        ProductService,
        repository=repository,
        cache=cache_layer.provided.cache,
        near=cache_layer.provided.near,
        bus=cache_layer.provided.bus,
        stats=cache_layer.provided.stats,
        exact_count_limit=settings.provided.exact_count_limit,
        lease_wait=settings.provided.cache_lease_wait,
    )
    health_checks = providers.Callable(
        caching.health_checks,
        providers.Singleton(PostgresHealth, pool=gateways.db_pool, breaker=db_breaker),
        providers.Singleton(
            RelayHealth,
            monitor=providers.Singleton(PostgresOutboxMonitor, pool=gateways.db_pool),
            runner=gateways.relay,
            missing_after=settings.provided.relay_missing_after,
        ),
        cache_layer,
    )


class Application(containers.DeclarativeContainer):
    """Everything, wired: ``Application(settings=...)``, then ``await init_resources()``."""

    settings = providers.Dependency(instance_of=Settings)
    gateways = providers.Container(Gateways, settings=settings)
    services = providers.Container(Services, settings=settings, gateways=gateways)


class Runtime:
    """The ready objects an entry point uses after the container's resources are open."""

    def __init__(self, service: ProductService, health_checks: list[HealthCheck]) -> None:
        self.service = service
        self.health_checks = health_checks


async def _resolved(value: T | Awaitable[T]) -> T:
    """A provider's value: dependency-injector returns a future when any dependency is async."""
    return await value if inspect.isawaitable(value) else value


@asynccontextmanager
async def running(container: Application) -> AsyncIterator[Runtime]:
    """Open the container's resources, yield what entry points need, and close them on exit.

    The database opens first and alone: when it cannot be reached, its error is raised as is,
    with nothing else half-opened (dependency-injector logs a cascade of cancelled futures when
    one of several resources opening together fails), and whatever did open is closed again.
    """
    try:
        await _resolved(container.gateways.db_pool())
        if (opening := container.init_resources()) is not None:
            await opening
    except BaseException:
        if (closing := container.shutdown_resources()) is not None:
            await closing
        raise
    try:
        yield Runtime(
            service=await _resolved(container.services.product_service()),
            health_checks=await _resolved(container.services.health_checks()),
        )
    finally:
        if (closing := container.shutdown_resources()) is not None:
            await closing


@asynccontextmanager
async def open_service(settings: Settings | None = None) -> AsyncIterator[ProductService]:
    """Build everything from ``settings`` (default: the environment) and yield a ready service."""
    async with running(Application(settings=settings or Settings.from_env())) as runtime:
        yield runtime.service
