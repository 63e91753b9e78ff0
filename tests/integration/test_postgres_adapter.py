"""The PostgreSQL adapter on a database of its own: migrations, versions, counts, paging, search."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from decimal import Decimal

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from psycopg_pool import AsyncConnectionPool

from adapters.breaker import CircuitBreaker
from adapters.postgres import (
    PoolSettings,
    PostgresProductRepository,
    SchemaMismatch,
    check_schema,
    migrate,
    open_pool,
)
from adapters.postgres.migrations import latest_version
from productcore import PageRequest, ProductService, SearchCriteria, Sort
from productcore.errors import ServiceUnavailable
from productcore.model import Total
from tests.servers import scratch_database


@pytest.fixture(name="own_url", scope="module")
def _own_url(postgres_admin_url: str) -> Iterator[str]:
    """A migrated database only this module writes to, so whole-table facts can be asserted."""
    with scratch_database(postgres_admin_url, prefix="productcore_adapter") as url:
        asyncio.run(migrate(url))
        yield url


@pytest.fixture(name="own_pool", scope="module")
async def _own_pool(own_url: str) -> AsyncIterator[AsyncConnectionPool]:
    async with open_pool(own_url) as pool:
        yield pool


async def _reset(pool: AsyncConnectionPool, rows: list[tuple[str, Decimal, int]]) -> None:
    async with pool.connection() as conn, conn.transaction():
        await conn.execute("TRUNCATE products RESTART IDENTITY")
        async with conn.cursor().copy("COPY products (name, price, stock) FROM STDIN") as copy:
            for row in rows:
                await copy.write_row(row)


def test_migrations_are_recorded_and_idempotent(postgres_admin_url: str) -> None:
    """The first migrate applies everything, the second nothing; the schema then passes the check."""
    with scratch_database(postgres_admin_url, prefix="productcore_migrate") as url:
        first = asyncio.run(migrate(url))
        second = asyncio.run(migrate(url))
        assert [m.version for m in first][-1] == latest_version()
        assert second == []
        with psycopg.connect(url) as conn:
            recorded = conn.execute("SELECT max(version) FROM schema_migrations").fetchone()
        assert recorded == (latest_version(),)


def test_concurrent_migrators_apply_each_migration_once(postgres_admin_url: str) -> None:
    """Two instances starting together serialise on the advisory lock."""
    with scratch_database(postgres_admin_url, prefix="productcore_migrate") as url:

        async def both() -> list[list]:
            return list(await asyncio.gather(migrate(url), migrate(url)))

        results = asyncio.run(both())
        assert sorted(len(r) for r in results) == [0, latest_version()]


async def test_newer_or_missing_schema_is_refused(postgres_admin_url: str) -> None:
    """The service refuses a schema newer than it knows, and one not yet migrated."""
    with scratch_database(postgres_admin_url, prefix="productcore_migrate") as url:
        async with open_pool(url, None) as pool:
            with pytest.raises(SchemaMismatch, match="db migrate"):
                await check_schema(pool)
            await migrate(url)
            async with pool.connection() as conn:
                await conn.execute("INSERT INTO schema_migrations (version, name) VALUES (9999, 'future')")
            with pytest.raises(SchemaMismatch, match="newer"):
                await check_schema(pool)
        with pytest.raises(SchemaMismatch, match="newer"):
            await migrate(url)


async def test_version_trigger_owns_versions(own_pool: AsyncConnectionPool) -> None:
    """Any real change bumps the version by one; no-op updates and hand-set versions do not count."""
    await _reset(own_pool, [("Widget", Decimal("1.00"), 1)])
    async with own_pool.connection() as conn:

        async def version() -> int:
            row = await (await conn.execute("SELECT version FROM products WHERE id = 1")).fetchone()
            assert row is not None
            return int(row[0])

        await conn.execute("UPDATE products SET price = 2 WHERE id = 1")
        assert await version() == 2
        await conn.execute("UPDATE products SET price = 2 WHERE id = 1")
        assert await version() == 2
        await conn.execute("UPDATE products SET stock = 5, version = 100 WHERE id = 1")
        assert await version() == 3
        await conn.execute("UPDATE products SET name = 'Gadget', version = 1 WHERE id = 1")
        assert await version() == 4


async def test_exact_total_follows_inserts_deletes_and_truncate(own_pool: AsyncConnectionPool) -> None:
    """The unfiltered total is kept exact by statement triggers, whatever writes the rows."""
    repository = PostgresProductRepository(own_pool)
    await _reset(own_pool, [(f"Item {i}", Decimal(i), i) for i in range(25)])
    assert await repository.count(None, exact_up_to=0) == Total(25, exact=True)
    async with own_pool.connection() as conn:
        await conn.execute("DELETE FROM products WHERE stock < 5")
        await conn.execute("INSERT INTO products (name, price, stock) VALUES ('New', 1, 1), ('Newer', 2, 2)")
    assert await repository.count(None, exact_up_to=0) == Total(22, exact=True)
    async with own_pool.connection() as conn:
        await conn.execute("TRUNCATE products")
    assert await repository.count(None, exact_up_to=0) == Total(0, exact=True)


async def test_large_filtered_counts_become_flagged_estimates(own_pool: AsyncConnectionPool) -> None:
    """Up to the cap a filtered count is exact; above it the planner's estimate is returned, flagged."""
    repository = PostgresProductRepository(own_pool)
    await _reset(own_pool, [(f"Lamp {i}", Decimal(i % 50), 1) for i in range(3000)])
    async with own_pool.connection() as conn:
        await conn.execute("ANALYZE products")
    criteria = SearchCriteria(name="lamp")
    assert await repository.count(criteria, exact_up_to=5000) == Total(3000, exact=True)
    estimated = await repository.count(criteria, exact_up_to=100)
    assert not estimated.exact
    assert 101 <= estimated.value <= 6000


async def test_a_page_that_is_not_full_knows_its_total_without_an_estimate(
    own_pool: AsyncConnectionPool,
) -> None:
    """Past the cap, a page by offset that holds the last matches gives the exact total, not an estimate."""
    repository = PostgresProductRepository(own_pool)
    await _reset(own_pool, [(f"Heron {i}", Decimal(i), 1) for i in range(30)])
    criteria = SearchCriteria(name="heron")
    rows, total = await repository.page(criteria, Sort.ID, 101, exact_up_to=5)
    assert (len(rows), total) == (30, Total(30, exact=True))
    rows, total = await repository.page(criteria, Sort.ID, 11, offset=20, exact_up_to=5)
    assert (len(rows), total) == (10, Total(30, exact=True))
    rows, total = await repository.page(criteria, Sort.ID, 11, offset=10, exact_up_to=5)
    assert len(rows) == 11 and not total.exact, "a full page counts (here past the cap: an estimate)"


async def test_an_estimate_never_exceeds_the_catalogue(own_pool: AsyncConnectionPool) -> None:
    """A stale planner estimate (here after deleting most rows) is capped by the exact total."""
    repository = PostgresProductRepository(own_pool)
    await _reset(own_pool, [(f"Kettle {i}", Decimal(i % 50), 1) for i in range(5000)])
    async with own_pool.connection() as conn:
        await conn.execute("ANALYZE products")
        await conn.execute("DELETE FROM products WHERE id % 10 <> 0")
    estimated = await repository.count(SearchCriteria(min_price=Decimal(0)), exact_up_to=10)
    assert estimated == Total(500, exact=False)


alphabet = st.sampled_from("abAB %_\\")
catalogue = st.lists(
    st.tuples(st.text(alphabet, min_size=1, max_size=6), st.decimals(0, 50, places=2), st.integers(0, 9)),
    max_size=30,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=catalogue, limit=st.integers(1, 6), sort=st.sampled_from(list(Sort)))
async def test_pages_partition_the_table(
    own_pool: AsyncConnectionPool, rows: list, limit: int, sort: Sort
) -> None:
    """Numbered pages and cursor walks each list every row once: no duplicates, no gaps."""
    await _reset(own_pool, rows)
    service = ProductService(PostgresProductRepository(own_pool))
    page = await service.list_page(PageRequest(limit=limit, sort=sort))
    numbered = []
    for number in range(1, page.total_pages + 1):
        numbered += [
            p.id for p in (await service.list_page(PageRequest(page=number, limit=limit, sort=sort))).items
        ]
    walked = [p.id for p in page.items]
    while page.next_cursor is not None:
        page = await service.list_page(PageRequest(limit=limit, sort=sort, cursor=page.next_cursor))
        walked += [p.id for p in page.items]
    assert walked == numbered
    assert sorted(numbered) == list(range(1, len(rows) + 1))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rows=catalogue,
    name=st.none() | st.text(alphabet, min_size=1, max_size=3).filter(str.strip),
    low=st.none() | st.decimals(0, 50, places=2),
    high=st.none() | st.decimals(0, 50, places=2),
)
async def test_search_equals_brute_force(
    own_pool: AsyncConnectionPool, rows: list, name: str | None, low: Decimal | None, high: Decimal | None
) -> None:
    """SQL search returns exactly what a plain Python filter keeps (wildcards taken literally)."""
    criteria = SearchCriteria(name=name, min_price=low, max_price=high)
    if criteria.is_empty or (low is not None and high is not None and low > high):
        return
    await _reset(own_pool, rows)
    service = ProductService(PostgresProductRepository(own_pool))
    found = await service.search(criteria, PageRequest(limit=100))
    wanted = name.strip().lower() if name else None
    expected = [
        i
        for i, (n, p, _) in enumerate(rows, start=1)
        if (wanted is None or wanted in n.lower())
        and (low is None or p >= low)
        and (high is None or p <= high)
    ]
    assert [p.id for p in found.items] == expected
    assert found.total == Total(len(expected), exact=True)


async def test_a_statement_timeout_is_a_503_but_does_not_open_the_database_breaker(own_url: str) -> None:
    """A slow statement says nothing about the database being down: the breaker stays closed."""
    async with open_pool(own_url, PoolSettings(min_size=1, max_size=2, statement_timeout=0.05)) as pool:
        repository = PostgresProductRepository(pool, CircuitBreaker(failures=1, reset_after=60))
        for _ in range(3):
            with pytest.raises(ServiceUnavailable, match="statement timeout"):
                async with repository._connection() as conn:
                    await conn.execute("SELECT pg_sleep(1)")
        assert repository.breaker.state == "closed"
        assert await repository.get(10**12) is None


def test_product_ids_are_permanent(own_url: str) -> None:
    """Moving a row to another id (which an identity column allows) is refused: caches and clients
    hold on to ids, and the change outbox matches rows by id."""
    with psycopg.connect(own_url, autocommit=True) as conn:
        (product_id, version) = conn.execute(
            "INSERT INTO products (name, price, stock) VALUES ('Fixed id', 1, 1) RETURNING id, version"
        ).fetchone()
        with pytest.raises(psycopg.errors.IntegrityConstraintViolation, match="ids are permanent"):
            conn.execute("UPDATE products SET id = DEFAULT, price = 2 WHERE id = %s", (product_id,))
        row = conn.execute("SELECT price, version FROM products WHERE id = %s", (product_id,)).fetchone()
        assert row == (Decimal("1.00"), version)
        conn.execute("UPDATE products SET price = 3 WHERE id = %s", (product_id,))
        after = conn.execute("SELECT version FROM products WHERE id = %s", (product_id,)).fetchone()
        assert after == (version + 1,)
