"""On a seeded catalogue a ``last`` link never names an empty page: with an estimated total there is none."""

from __future__ import annotations

import asyncio
import math
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import msgspec
import psycopg
import pytest
from litestar.testing import AsyncTestClient

from adapters.postgres import migrate
from adapters.postgres.bulk import load_products
from entrypoints.cli.demo_data import demo_products
from entrypoints.http import create_app
from entrypoints.settings import Settings
from tests.servers import scratch_database

SEEDED = 20_000
EXACT_UP_TO = 100
"""Searches matching more are estimated, as the default 1,000 does on a larger catalogue."""
SEARCHES = [
    {"name": "kettle"},
    {"name": "steel"},
    {"name": "canvas"},
    {"name": "chair", "max_price": "20"},
    {"name": "U2-CE1RN"},
    {"min_price": "100", "max_price": "1000"},
    {"name": "no product is called this"},
]


@pytest.fixture(name="catalogue", scope="module")
def _catalogue(postgres_admin_url: str) -> Iterator[str]:
    """A database of its own with 20,000 demo products, analysed as ``productcore seed`` leaves it."""
    with scratch_database(postgres_admin_url) as url:
        asyncio.run(migrate(url))
        load_products(url, demo_products(SEEDED, 7), expected_rows=SEEDED)
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("ANALYZE products")
        yield url


@pytest.fixture(name="pages")
async def _pages(catalogue: str, settings: Settings) -> AsyncIterator[AsyncTestClient]:
    """The app on that catalogue, estimating search totals past 100 matches."""
    prefix = f"productcore-test-{uuid.uuid4().hex[:8]}"
    seeded = msgspec.structs.replace(
        settings,
        database_url=catalogue,
        exact_count_limit=EXACT_UP_TO,
        cache_key_prefix=f"{prefix}:cache",
        rate_limit_key_prefix=f"{prefix}:ratelimit",
    )
    async with AsyncTestClient(app=create_app(seeded)) as client:
        yield client


def _matching(url: str, search: dict[str, str]) -> int:
    """The real number of matches, counted in SQL."""
    clauses, params = ["TRUE"], []
    if "name" in search:
        clauses.append("name ILIKE %s")
        params.append(f"%{search['name']}%")
    for key, op in (("min_price", ">="), ("max_price", "<=")):
        if key in search:
            clauses.append(f"price {op} %s")
            params.append(search[key])
    with psycopg.connect(url) as conn:
        row = conn.execute(f"SELECT count(*) FROM products WHERE {' AND '.join(clauses)}", params).fetchone()  # type: ignore[arg-type]
    assert row is not None
    return int(row[0])


async def _body(client: AsyncTestClient, link: str) -> dict[str, Any]:
    response = await client.get(link)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


@pytest.mark.parametrize("limit", [7, 20, 100])
async def test_last_names_a_page_with_products_or_is_left_out(
    pages: AsyncTestClient, catalogue: str, limit: int
) -> None:
    """An exact total links the real last page (full, the next one empty); an estimate links none."""
    overshot = 0
    for search in [None, *SEARCHES]:
        path = "/products" if search is None else "/products/search"
        body = await _body(
            pages, f"{path}?{'&'.join(f'{k}={v}' for k, v in (search or {}).items())}&limit={limit}"
        )
        meta, last = body["meta"], body["links"]["last"]
        real = SEEDED if search is None else _matching(catalogue, search)
        if not meta["total_is_exact"]:
            assert last is None, (search, meta)
            overshot += meta["total_pages"] > math.ceil(real / limit)
            continue
        assert meta["total"] == real
        if real == 0:
            assert last is None
            continue
        final = await _body(pages, last)
        assert final["meta"]["page"] == math.ceil(real / limit)
        assert len(final["items"]) == real - (final["meta"]["page"] - 1) * limit > 0
        after = await _body(
            pages, last.replace(f"page={final['meta']['page']}", f"page={final['meta']['page'] + 1}")
        )
        assert after["items"] == []
    assert overshot, "no estimate overshot: the seeded catalogue no longer shows the case this test is for"
