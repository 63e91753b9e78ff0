"""Two-instance harness for the cache tests: apps with their own L1, sharing PostgreSQL and Redis."""

from __future__ import annotations

import asyncio
import bisect
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import httpx
import psycopg
import pytest
from dependency_injector import providers
from litestar import Litestar
from redis.asyncio import RedisCluster

from adapters.memory import LruNearCache
from adapters.postgres import PostgresProductRepository, migrate
from adapters.redis import RedisProductCache
from adapters.redis.cache import parse_value
from adapters.redis.client import subscription_client
from adapters.redis.cluster import client_from_url
from adapters.redis.messages import decode_message
from entrypoints.apikeys import WRITE, generate
from entrypoints.caching import CacheLayer
from entrypoints.consumers.relay import ChangeRelayRunner
from entrypoints.container import Application
from entrypoints.http import create_app
from entrypoints.settings import Settings
from productcore.caching import CacheStats
from productcore.model import CachedProduct
from productcore.service import ProductService
from tests.servers import scratch_database


@dataclass
class Instance:
    """One running service instance: its HTTP client and the cache objects inside it."""

    name: str
    app: Litestar
    container: Application
    http: httpx.AsyncClient
    layer: CacheLayer
    relay: ChangeRelayRunner | None
    service: ProductService

    @property
    def stats(self) -> CacheStats:
        """This instance's cache counters."""
        return self.layer.stats

    @property
    def near(self) -> LruNearCache:
        """This instance's L1."""
        assert self.layer.near is not None
        return self.layer.near

    @property
    def l2(self) -> RedisProductCache:
        """The shared L2, as this instance sees it."""
        assert self.layer.cache is not None
        return self.layer.cache

    async def version(self, product_id: int) -> int:
        """GET the product through this instance's API and return the version it shows."""
        response = await self.http.get(f"/products/{product_id}")
        assert response.status_code == 200, response.text
        return int(response.json()["version"])

    async def put(self, product_id: int, price: str, stock: int) -> int:
        """PUT price and stock through this instance's API; return the new version."""
        response = await self.http.put(f"/products/{product_id}", json={"price": price, "stock": stock})
        assert response.status_code == 200, response.text
        return int(response.json()["version"])


Start = Callable[..., Awaitable[Instance]]


@dataclass
class Cluster:
    """A database of one test's own, a Redis key prefix of its own, and a way to start instances."""

    database_url: str
    redis_url: str
    prefix: str
    start: Start

    def sql(self, statement: str, params: Any = None) -> None:
        """Run SQL directly (an out-of-band change, no API involved)."""
        with psycopg.connect(self.database_url, autocommit=True) as conn:
            conn.execute(statement, params)

    def insert(self, count: int = 1, price: str = "10.00", stock: int = 5) -> list[int]:
        """Insert products with SQL and return their ids."""
        with psycopg.connect(self.database_url, autocommit=True) as conn:
            rows = conn.execute(
                "INSERT INTO products (name, price, stock) "
                "SELECT 'Cache test ' || g, %s, %s FROM generate_series(1, %s) AS g RETURNING id",
                (Decimal(price), stock, count),
            ).fetchall()
        return [row[0] for row in rows]

    async def outbox_empty(self) -> bool:
        """True when the relay has relayed (and pruned) every change."""
        with psycopg.connect(self.database_url, autocommit=True) as conn:
            row = conn.execute("SELECT count(*) FROM product_changes").fetchone()
        return row == (0,)

    def db_version(self, product_id: int) -> int:
        """The version PostgreSQL holds."""
        with psycopg.connect(self.database_url, autocommit=True) as conn:
            row = conn.execute("SELECT version FROM products WHERE id = %s", (product_id,)).fetchone()
        assert row is not None
        return int(row[0])


_WRITE_TOKEN, _WRITE_KEY = generate("cache-tests", [WRITE])
"""A write key every test instance accepts; rate limits are off (the cache is under test, not them)."""


def cache_settings(database_url: str, redis_url: str, prefix: str, **overrides: Any) -> Settings:
    """Settings of one test instance: fast relay polling, short breaker reset, the test's prefix."""
    values: dict[str, Any] = {
        "database_url": database_url,
        "redis_url": redis_url,
        "cache_key_prefix": prefix,
        "migrate_on_start": False,
        "relay_poll_interval": 0.5,
        "redis_breaker_reset": 0.5,
        "cache_ping_interval": 0.2,
        "db_pool_min": 1,
        "db_pool_max": 20,
        "api_keys": _WRITE_KEY.config_entry,
        "rate_limit_enabled": False,
    }
    values.update(overrides)
    return Settings.from_env({}, **values)


@asynccontextmanager
async def running_instance(
    name: str, settings: Settings, *, repository: Callable[[Any], Any] | None = None
) -> AsyncIterator[Instance]:
    """Start an app (lifespan and all), yield it with an HTTP client, stop it on exit.

    ``repository`` wraps the real repository (a hook to force interleavings), via a provider
    override as the container allows.
    """
    container = Application(settings=settings)
    if repository is not None:
        container.services.repository.override(
            providers.Singleton(
                lambda pool: repository(PostgresProductRepository(pool)), pool=container.gateways.db_pool
            )
        )
    app = create_app(settings, container)
    ready, stop = asyncio.Event(), asyncio.Event()

    async def host() -> None:
        # The lifespan is entered and left in this one task, as anyio's task groups require.
        async with app.lifespan():
            ready.set()
            await stop.wait()

    hosting = asyncio.create_task(host(), name=f"instance-{name}")
    waiting = asyncio.create_task(ready.wait())
    await asyncio.wait([hosting, waiting], return_when=asyncio.FIRST_COMPLETED)
    if hosting.done():
        waiting.cancel()
        hosting.result()
    try:
        layer = await container.gateways.cache_layer()
        relay = await container.gateways.relay()
        transport = httpx.ASGITransport(app=app)
        headers = {"Authorization": f"Bearer {_WRITE_TOKEN}"}
        async with httpx.AsyncClient(transport=transport, base_url=f"http://{name}", headers=headers) as http:
            yield Instance(name, app, container, http, layer, relay, app.state.product_service)
    finally:
        stop.set()
        await hosting


@pytest.fixture(name="cluster")
async def _cluster(postgres_admin_url: str, redis_url: str) -> AsyncIterator[Cluster]:
    """A fresh migrated database and a Redis prefix for one test; instances stop at its end."""
    with scratch_database(postgres_admin_url, prefix="productcore_cache") as database_url:
        await migrate(database_url)
        prefix = f"test:{uuid.uuid4().hex[:12]}"
        async with AsyncExitStack() as stack:

            async def start(
                name: str, *, repository: Callable[[Any], Any] | None = None, **overrides: Any
            ) -> Instance:
                url = overrides.pop("redis_url", redis_url)
                settings = cache_settings(database_url, url, prefix, **overrides)
                running = running_instance(name, settings, repository=repository)
                return await stack.enter_async_context(running)

            yield Cluster(database_url, redis_url, prefix, start)
        client = client_from_url(redis_url)
        try:
            keys = [key async for key in client.scan_iter(match=f"{prefix}:*", count=1000)]
            if keys:
                await client.delete(*keys)
        finally:
            await client.aclose()


class ChannelWatch:
    """Every invalidation published on the channel, with when a subscriber of the test's own saw it.

    Instances' subscribers get the same messages at about the same moment, so a bound counted from
    here is the service's own delay, without the time Redis took to be scheduled and pass it on.
    """

    def __init__(self) -> None:
        self.seen: list[tuple[float, int, int]] = []
        self.ready = asyncio.Event()

    async def listen(self, redis_url: str, channel: str, done: asyncio.Event) -> None:
        """Subscribe, then record invalidations until ``done`` is set and the channel is quiet."""
        client = client_from_url(redis_url)
        subscription = await subscription_client(client, channel)
        try:
            async with subscription.pubsub() as pubsub:
                if isinstance(client, RedisCluster):
                    await pubsub.ssubscribe(channel)  # the service's bus publishes sharded there
                else:
                    await pubsub.subscribe(channel)
                while True:
                    message = await pubsub.get_message(timeout=0.1)
                    if message is None:
                        if done.is_set():
                            return
                    elif message["type"] in ("subscribe", "ssubscribe"):
                        self.ready.set()
                    elif message["type"] in ("message", "smessage"):
                        now = time.perf_counter()
                        marks = decode_message(message["data"]).c
                        self.seen.extend((now, mark.product_id, mark.version) for mark in marks)
        finally:
            await subscription.aclose(close_connection_pool=True)
            await client.aclose()

    def seen_at(self, product_id: int, version: int) -> float:
        """When an invalidation of ``product_id`` at ``version`` or later was first seen (inf: never)."""
        return min(
            (at for at, pid, seen in self.seen if pid == product_id and seen >= version), default=float("inf")
        )


class Stalls:
    """How late the event loop woke a task that slept 1 ms, sampled throughout the run.

    The instances and every load generator of a test share its one event loop, so a stall of the
    loop (a long step of some task, a garbage collection, a machine with no CPU to spare) delays
    every instance's subscriber at once; in production each instance has a loop of its own. A
    delivery bound is therefore checked on top of the stalls the loop had meanwhile.
    """

    def __init__(self) -> None:
        self.at: list[float] = []
        self.lag: list[float] = []

    async def sample(self, going: Callable[[], bool]) -> None:
        """Record lateness while ``going()``."""
        while going():
            asked = time.perf_counter()
            await asyncio.sleep(0.001)
            self.at.append(asked)
            self.lag.append(max(0.0, time.perf_counter() - asked - 0.001))

    def total(self, start: float, end: float) -> float:
        """All the lateness sampled in ``[start, end]``: how long the loop was held up meanwhile
        (meaningful while the loop is not kept busy on purpose, where it is about the machine)."""
        first = max(0, bisect.bisect_left(self.at, start) - 1)
        last = bisect.bisect_right(self.at, end)
        return sum(self.lag[first:last])

    def between(self, start: float, end: float) -> float:
        """The longest stall that began in ``[start, end]`` (or was under way at ``start``)."""
        first = max(0, bisect.bisect_left(self.at, start) - 1)
        last = bisect.bisect_right(self.at, end)
        return max(self.lag[first:last], default=0.0)


@asynccontextmanager
async def watching(redis_url: str, channel: str) -> AsyncIterator[ChannelWatch]:
    """A ``ChannelWatch`` subscribed (and ready) for the block; it drains the channel on exit."""
    watch, done = ChannelWatch(), asyncio.Event()
    listening = asyncio.create_task(watch.listen(redis_url, channel, done))
    try:
        await asyncio.wait_for(watch.ready.wait(), 5)
        yield watch
    finally:
        done.set()
        await listening


SETTLE = 10.0
"""Seconds to wait for what must happen but whose speed is not under test (a loaded machine is slow)."""


async def eventually(predicate: Callable[[], Awaitable[bool]], within: float, step: float = 0.001) -> float:
    """Wait until ``predicate()`` holds and return the seconds it took; fail after ``within``."""
    started = time.perf_counter()
    while not await predicate():
        elapsed = time.perf_counter() - started
        if elapsed > within:
            pytest.fail(f"condition not met within {within * 1000:.0f} ms")
        await asyncio.sleep(step)
    return time.perf_counter() - started


async def l2_entry(instance: Instance, product_id: int) -> CachedProduct | None:
    """What L2 holds for an id (None: nothing or a negative entry)."""
    raw = await instance.l2.raw(product_id)
    return parse_value(raw) if raw is not None and raw.startswith(b"v") else None


def percentile(values: list[float], fraction: float) -> float:
    """The value below which ``fraction`` of ``values`` lie (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def ms(seconds: float) -> str:
    """Seconds as milliseconds, for printed figures."""
    return f"{seconds * 1000:.2f} ms"
