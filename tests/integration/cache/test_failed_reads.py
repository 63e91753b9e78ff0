"""A read that fails on the database gives its fill lease back, so a retry need not wait it out."""

from __future__ import annotations

from typing import Any

from adapters.postgres import PostgresProductRepository
from productcore.errors import ServiceUnavailable
from productcore.model import Product
from tests.integration.cache.conftest import Cluster
from tests.integration.helpers import assert_problem


class FailingRepository:
    """The real repository, except that reads of the ids in ``failing`` fail like a lost database."""

    def __init__(self, inner: PostgresProductRepository) -> None:
        self._inner = inner
        self.failing: set[int] = set()

    async def get(self, product_id: int) -> Product | None:
        """Fail for a failing id; read PostgreSQL otherwise."""
        if product_id in self.failing:
            raise ServiceUnavailable("the database is unavailable (OperationalError)")
        return await self._inner.get(product_id)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


async def test_a_failed_read_releases_its_lease(cluster: Cluster) -> None:
    """After a read's database call fails (503), its Redis lease is gone: a retry takes the lease at
    once instead of waiting for the lease to be filled, and succeeds as soon as the database answers."""
    wrapped: list[FailingRepository] = []

    def wrap(inner: PostgresProductRepository) -> FailingRepository:
        wrapped.append(FailingRepository(inner))
        return wrapped[-1]

    instance = await cluster.start("a", repository=wrap)
    (product_id,) = cluster.insert(1)
    wrapped[0].failing.add(product_id)
    assert_problem(await instance.http.get(f"/products/{product_id}"), 503)
    lease = await instance.l2._client.exists(instance.l2.keys.lease(product_id))
    assert_problem(await instance.http.get(f"/products/{product_id}"), 503)
    wrapped[0].failing.clear()
    assert await instance.version(product_id) == 1
    print(f"\nlease left after a failed read: {lease}; lease waits: {instance.stats.l2_busy_waits}")
    assert lease == 0
    assert instance.stats.l2_busy_waits == 0
