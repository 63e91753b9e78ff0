"""A page (rows and total) takes one pooled connection, never two, whichever way it is asked for."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from decimal import Decimal

import psycopg
import pytest

from adapters.postgres import PostgresProductRepository, migrate, open_pool
from productcore import PageRequest, ProductService, SearchCriteria, Sort
from tests.servers import scratch_database


@pytest.fixture(name="own_url", scope="module")
def _own_url(postgres_admin_url: str) -> Iterator[str]:
    """A migrated database of this module's own, with a few products."""
    with scratch_database(postgres_admin_url, prefix="productcore_pages") as url:
        asyncio.run(migrate(url))
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(
                "INSERT INTO products (name, price, stock) "
                "SELECT 'Page lamp ' || g, g, 1 FROM generate_series(1, 30) AS g"
            )
        yield url


async def test_every_page_takes_one_connection(own_url: str) -> None:
    """Listing, searching and following a cursor each borrow exactly one connection from the pool."""
    async with open_pool(own_url) as pool:
        service = ProductService(PostgresProductRepository(pool))
        first = await service.list_page(PageRequest(limit=5))
        assert first.next_cursor is not None
        asks = [
            lambda: service.list_page(PageRequest(limit=5, sort=Sort.PRICE_DESC)),
            lambda: service.search(SearchCriteria(name="lamp"), PageRequest(limit=5)),
            lambda: service.search(SearchCriteria(min_price=Decimal("3")), PageRequest(page=2, limit=5)),
            lambda: service.list_page(PageRequest(cursor=first.next_cursor, limit=5)),
        ]
        borrowed = []
        for ask in asks:
            before = pool.get_stats()["requests_num"]
            page = await ask()
            borrowed.append(pool.get_stats()["requests_num"] - before)
            assert page.items and page.total.value > 0
    print(f"\nconnections borrowed per page: {borrowed}")
    assert borrowed == [1, 1, 1, 1]
