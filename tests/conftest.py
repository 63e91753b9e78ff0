"""Session-wide real servers and a migrated database for the integration tests."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from adapters.postgres import migrate
from tests.servers import postgres_server, redis_server, scratch_database


@pytest.fixture(name="postgres_admin_url", scope="session")
def _postgres_admin_url() -> Iterator[str]:
    """A PostgreSQL server for the whole session, chosen as DESIGN.md section 5 says."""
    with postgres_server() as (kind, url):
        print(f"\nPostgreSQL for tests: {kind}")
        yield url


@pytest.fixture(name="database_url", scope="session")
def _database_url(postgres_admin_url: str) -> Iterator[str]:
    """A migrated database of this session's own, dropped at the end."""
    with scratch_database(postgres_admin_url) as url:
        asyncio.run(migrate(url))
        yield url


@pytest.fixture(name="redis_url", scope="session")
def _redis_url() -> Iterator[str]:
    """A Redis-compatible server for the whole session: environment URL, testcontainers or embedded."""
    with redis_server() as (kind, url):
        print(f"\nRedis for tests: {kind}")
        yield url
