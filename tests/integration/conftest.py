"""Fixtures shared by the integration tests: a pool, a repository, an app client, fresh products."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from decimal import Decimal

import pytest
from litestar.testing import AsyncTestClient
from psycopg_pool import AsyncConnectionPool

from adapters.postgres import PostgresProductRepository, open_pool
from entrypoints.apikeys import WRITE, ApiKey, generate
from entrypoints.http import create_app
from entrypoints.settings import Settings
from productcore.model import Product

NewProduct = Callable[..., Awaitable[Product]]


@pytest.fixture(name="pool", scope="session")
async def _pool(database_url: str) -> AsyncIterator[AsyncConnectionPool]:
    """A pool on the session database."""
    async with open_pool(database_url) as pool:
        yield pool


@pytest.fixture(name="repository", scope="session")
def _repository(pool: AsyncConnectionPool) -> PostgresProductRepository:
    """The PostgreSQL repository under test."""
    return PostgresProductRepository(pool)


@pytest.fixture(name="write_key", scope="session")
def _write_key() -> tuple[str, ApiKey]:
    """An API key with the write scope (its token, and its configuration) for the session's app."""
    return generate("tests", [WRITE])


@pytest.fixture(name="settings", scope="session")
def _settings(database_url: str, redis_url: str, write_key: tuple[str, ApiKey]) -> Settings:
    """Settings on the session's database and Redis (keys under a prefix of this session's own);
    the write key is configured, budgets are ample."""
    session = uuid.uuid4().hex[:8]
    return Settings.from_env(
        {},
        database_url=database_url,
        redis_url=redis_url,
        cache_key_prefix=f"productcore-test-{session}:cache",
        rate_limit_key_prefix=f"productcore-test-{session}:ratelimit",
        migrate_on_start=False,
        api_keys=write_key[1].config_entry,
        rate_limit_read="1000000/minute",
        rate_limit_write="1000000/minute",
    )


@pytest.fixture(name="client", scope="session")
async def _client(settings: Settings, write_key: tuple[str, ApiKey]) -> AsyncIterator[AsyncTestClient]:
    """An HTTP client of the app, started once for the session, sending the session's write key."""
    async with AsyncTestClient(app=create_app(settings)) as client:
        client.headers["Authorization"] = f"Bearer {write_key[0]}"
        yield client


_counter = itertools.count(1)


@pytest.fixture(name="new_product")
def _new_product(pool: AsyncConnectionPool) -> NewProduct:
    """Insert a product with a unique name and return it as stored."""

    async def create(
        name: str | None = None, price: str = "10.00", stock: int = 5, description: str | None = None
    ) -> Product:
        name = name or f"Test product {uuid.uuid4().hex[:8]} {next(_counter)}"
        async with pool.connection() as conn:
            cur = await conn.execute(
                "INSERT INTO products (name, description, price, stock) VALUES (%s, %s, %s, %s) "
                "RETURNING id, name, description, price, stock, version, created_at, updated_at",
                (name, description, Decimal(price), stock),
            )
            row = await cur.fetchone()
        assert row is not None
        return Product(
            id=row[0],
            name=row[1],
            description=row[2],
            price=row[3],
            stock=row[4],
            version=row[5],
            created_at=row[6],
            updated_at=row[7],
        )

    return create
