"""One product is sent as ``encode_product``'s bytes and documented as ``ProductOut``: one shape."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import msgspec
from hypothesis import given
from hypothesis import strategies as st
from litestar.serialization import encode_json
from litestar.testing import AsyncTestClient

from entrypoints.http.schemas import ProductOut
from productcore.model import Product, encode_product
from tests.unit.products_app import products_app

moments = st.datetimes(
    min_value=datetime(1970, 1, 1),
    max_value=datetime(2200, 1, 1),
    timezones=st.sampled_from([UTC, timezone(timedelta(hours=2))]),
)
products = st.builds(
    Product,
    id=st.integers(1, 2**63 - 1),
    name=st.text(min_size=1, max_size=30),
    description=st.none() | st.text(max_size=30),
    price=st.decimals(min_value=0, max_value=Decimal("9999999999.99"), places=2),
    stock=st.integers(0, 2**31 - 1),
    version=st.integers(1, 2**63 - 1),
    created_at=moments,
    updated_at=moments,
)


@given(products)
def test_encode_product_gives_the_bytes_litestar_gives_product_out(product: Product) -> None:
    """The cached document of a product is byte for byte what Litestar would send for its ProductOut."""
    assert encode_product(product) == encode_json(ProductOut.of(product))


async def test_a_product_read_is_the_item_a_page_shows() -> None:
    """GET /products/1 (the cached bytes) and the page listing it (ProductOut via Litestar) agree."""
    async with AsyncTestClient(products_app()) as client:
        single = await client.get("/products/1")
        page = await client.get("/products")
    assert single.status_code == page.status_code == 200
    assert msgspec.json.decode(single.content) == page.json()["items"][0]
    assert single.content == encode_json(msgspec.convert(page.json()["items"][0], ProductOut))
