"""The database breaker opens for a database that cannot be reached, never for a busy pool."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from adapters.breaker import CircuitBreaker
from adapters.postgres import PoolSettings, PostgresHealth, PostgresProductRepository, migrate, open_pool
from productcore.errors import ServiceUnavailable
from tests.servers import scratch_database


@pytest.fixture(name="own_url", scope="module")
def _own_url(postgres_admin_url: str) -> Iterator[str]:
    """A migrated database of this module's own."""
    with scratch_database(postgres_admin_url, prefix="productcore_breaker") as url:
        asyncio.run(migrate(url))
        yield url


async def test_a_saturated_pool_gives_bounded_503s_and_never_opens_the_breaker(own_url: str) -> None:
    """With every connection busy, calls wait the pool timeout and get a 503 saying so; however many
    time out, the breaker stays closed, and calls work again as soon as a connection is free."""
    settings = PoolSettings(min_size=1, max_size=1, acquire_timeout=0.2)
    async with open_pool(own_url, settings) as pool:
        breaker = CircuitBreaker(failures=2, reset_after=60)
        repository = PostgresProductRepository(pool, breaker)
        health = PostgresHealth(pool, breaker, timeout=0.2)
        async with pool.connection():  # the only connection is taken: every other call times out
            for _ in range(5):
                with pytest.raises(ServiceUnavailable, match="busy"):
                    await repository.get(1)
            status = await health.check()
        assert breaker.state == "closed" and breaker.opened == 0
        assert await repository.get(10**12) is None
    assert status.ok and status.details["pool"] == "busy"
