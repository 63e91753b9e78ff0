"""PUT /products/{id}: price and stock changes, conditional writes, and bad bodies that change nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator

import msgspec
import pytest
from litestar.testing import AsyncTestClient

from entrypoints.apikeys import ApiKey
from entrypoints.http import create_app
from entrypoints.settings import Settings
from tests.integration.conftest import NewProduct
from tests.integration.helpers import assert_problem

JSON = {"content-type": "application/json"}


async def _version(client: AsyncTestClient, product_id: int) -> int:
    return int((await client.get(f"/products/{product_id}")).json()["version"])


async def test_put_sets_price_and_stock_and_returns_the_new_version(
    client: AsyncTestClient, new_product: NewProduct
) -> None:
    """The response is the product as stored, with the next version as ETag; reads agree."""
    product = await new_product(price="10.00", stock=1)
    response = await client.put(f"/products/{product.id}", json={"price": "19.99", "stock": 42})
    assert response.status_code == 200
    body = response.json()
    assert (body["price"], body["stock"], body["version"]) == ("19.99", 42, 2)
    assert response.headers["etag"] == '"2"'
    assert body["updated_at"] >= body["created_at"]
    assert (await client.get(f"/products/{product.id}")).json() == body


@pytest.mark.parametrize(
    ("sent", "stored"), [(19.99, "19.99"), ("7", "7.00"), (0, "0.00"), ("0.10", "0.10"), (1e2, "100.00")]
)
async def test_price_may_be_a_string_or_a_number_without_rounding(
    client: AsyncTestClient, new_product: NewProduct, sent: object, stored: str
) -> None:
    """JSON numbers are read as exact decimals, not floats."""
    product = await new_product()
    response = await client.put(f"/products/{product.id}", json={"price": sent, "stock": 1})
    assert response.status_code == 200 and response.json()["price"] == stored


async def test_same_values_keep_the_version(client: AsyncTestClient, new_product: NewProduct) -> None:
    """Writing the values a product already has is not a change."""
    product = await new_product(price="10.00", stock=5)
    response = await client.put(f"/products/{product.id}", json={"price": "10.00", "stock": 5})
    assert response.status_code == 200 and response.json()["version"] == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ('{"price": "-1.00", "stock": 1}', "price"),
        ('{"price": "12.345", "stock": 1}', "price"),
        ('{"price": 0.001, "stock": 1}', "price"),
        ('{"price": 19.999999999999999999, "stock": 1}', "price"),
        ('{"price": "NaN", "stock": 1}', "price"),
        ('{"price": "Infinity", "stock": 1}', "price"),
        ('{"price": "10000000000", "stock": 1}', "price"),
        ('{"price": "abc", "stock": 1}', "price"),
        ('{"price": null, "stock": 1}', "price"),
        ('{"price": "1.00", "stock": -1}', "stock"),
        ('{"price": "1.00", "stock": 2147483648}', "stock"),
        ('{"price": "1.00", "stock": 1.5}', "stock"),
        ('{"price": "1.00", "stock": "seven"}', "stock"),
        ('{"price": "1.00", "stock": true}', "stock"),
        ('{"price": "1.00"}', "stock"),
        ('{"stock": 1}', "price"),
        ('{"price": "1.00", "stock": 1, "name": "hacked"}', "name"),
        ('{"price": "1.00", "stock": 1, "version": 99}', "version"),
        ("[]", "body"),
        ("null", "body"),
        ('"price"', "body"),
    ],
)
async def test_invalid_bodies_are_400_and_change_nothing(
    client: AsyncTestClient, new_product: NewProduct, body: str, field: str
) -> None:
    """Each bad field is named; the product keeps its version and values."""
    product = await new_product(price="10.00", stock=5)
    response = await client.put(f"/products/{product.id}", content=body, headers=JSON)
    assert_problem(response, 400, field)
    after = (await client.get(f"/products/{product.id}")).json()
    assert (after["version"], after["price"], after["stock"]) == (1, "10.00", 5)


@pytest.mark.parametrize("body", ["{bad json", "", '{"price": "1", "stock": 1', "\xff\xfe"])
async def test_malformed_json_is_a_400_problem(
    client: AsyncTestClient, new_product: NewProduct, body: str
) -> None:
    """Bodies that are not JSON are rejected without touching the product."""
    product = await new_product()
    response = await client.put(f"/products/{product.id}", content=body.encode("latin-1"), headers=JSON)
    assert_problem(response, 400)
    assert await _version(client, product.id) == 1


async def test_put_unknown_id_is_404(client: AsyncTestClient) -> None:
    """Writing a product that does not exist is a 404 problem, not an insert."""
    assert_problem(await client.put("/products/987654321", json={"price": "1.00", "stock": 1}), 404)


@pytest.mark.parametrize("raw_id", ["abc", "0", "-5", "9223372036854775808"])
async def test_put_malformed_id_is_400(client: AsyncTestClient, raw_id: str) -> None:
    """Bad ids are rejected on writes too."""
    assert_problem(
        await client.put(f"/products/{raw_id}", json={"price": "1.00", "stock": 1}), 400, "product_id"
    )


async def test_if_match_with_current_version_writes(client: AsyncTestClient, new_product: NewProduct) -> None:
    """If-Match naming the current ETag (or *) lets the write through."""
    product = await new_product()
    first = await client.put(
        f"/products/{product.id}", json={"price": "2.00", "stock": 2}, headers={"If-Match": '"1"'}
    )
    assert first.status_code == 200 and first.headers["etag"] == '"2"'
    star = await client.put(
        f"/products/{product.id}", json={"price": "3.00", "stock": 3}, headers={"If-Match": "*"}
    )
    assert star.status_code == 200 and star.json()["version"] == 3


@pytest.mark.parametrize(
    "header", ['"1"', 'W/"2"', '"abc"', '"99999999999999999999999"', '"02"', '"1", W/"2"', '"+2", "2.0"']
)
async def test_if_match_with_another_version_is_412_with_the_current_version(
    client: AsyncTestClient, new_product: NewProduct, header: str
) -> None:
    """A stale, weak, foreign or not exactly equal ETag (strong comparison) fails with 412 and no write."""
    product = await new_product(price="10.00")
    await client.put(f"/products/{product.id}", json={"price": "11.00", "stock": 1})
    response = await client.put(
        f"/products/{product.id}", json={"price": "99.00", "stock": 9}, headers={"If-Match": header}
    )
    body = assert_problem(response, 412)
    assert body["current_version"] == 2 and response.headers["etag"] == '"2"'
    assert (await client.get(f"/products/{product.id}")).json()["price"] == "11.00"


@pytest.mark.parametrize("header", ["1", "garbage", '"1" "2"', ",", "W/1", '"1", *'])
async def test_malformed_if_match_is_400(
    client: AsyncTestClient, new_product: NewProduct, header: str
) -> None:
    """An If-Match that is neither * nor a list of entity tags is rejected."""
    product = await new_product()
    response = await client.put(
        f"/products/{product.id}", json={"price": "1.00", "stock": 1}, headers={"If-Match": header}
    )
    assert_problem(response, 400, "If-Match")
    assert await _version(client, product.id) == 1


@pytest.mark.parametrize("header", ['"2", "1"', '"1", "2"', 'W/"1", "7", "1"', '"1",,"9"'])
async def test_if_match_list_writes_when_any_tag_is_current(
    client: AsyncTestClient, new_product: NewProduct, header: str
) -> None:
    """An If-Match list succeeds when one of its strong tags is the current version."""
    product = await new_product()
    response = await client.put(
        f"/products/{product.id}", json={"price": "2.00", "stock": 2}, headers={"If-Match": header}
    )
    assert response.status_code == 200, response.text
    assert response.headers["etag"] == '"2"' and response.json()["price"] == "2.00"


async def test_if_match_list_without_the_current_version_is_412(
    client: AsyncTestClient, new_product: NewProduct
) -> None:
    """An If-Match list naming only other versions fails with the current version and writes nothing."""
    product = await new_product(price="10.00")
    response = await client.put(
        f"/products/{product.id}", json={"price": "2.00", "stock": 2}, headers={"If-Match": '"3", "4"'}
    )
    body = assert_problem(response, 412)
    assert body["current_version"] == 1
    assert await _version(client, product.id) == 1


@pytest.mark.parametrize("header", ["*", '"1"', 'W/"1"', '"5", "1"'])
async def test_if_none_match_naming_the_product_is_412_and_writes_nothing(
    client: AsyncTestClient, new_product: NewProduct, header: str
) -> None:
    """If-None-Match * (the product exists) or with its current ETag (weak comparison) makes a PUT 412."""
    product = await new_product(price="10.00")
    response = await client.put(
        f"/products/{product.id}", json={"price": "2.00", "stock": 2}, headers={"If-None-Match": header}
    )
    body = assert_problem(response, 412)
    assert body["current_version"] == 1 and response.headers["etag"] == '"1"'
    stored = (await client.get(f"/products/{product.id}")).json()
    assert (stored["version"], stored["price"]) == (1, "10.00")


async def test_if_none_match_with_other_versions_lets_the_write_through(
    client: AsyncTestClient, new_product: NewProduct
) -> None:
    """If-None-Match naming only other versions holds, alone or together with a matching If-Match."""
    product = await new_product()
    url = f"/products/{product.id}"
    alone = await client.put(url, json={"price": "2.00", "stock": 2}, headers={"If-None-Match": '"7", "01"'})
    assert alone.status_code == 200 and alone.json()["version"] == 2
    both = await client.put(
        url, json={"price": "3.00", "stock": 3}, headers={"If-Match": '"2"', "If-None-Match": '"1"'}
    )
    assert both.status_code == 200 and both.json()["version"] == 3
    clash = await client.put(
        url, json={"price": "4.00", "stock": 4}, headers={"If-Match": '"3"', "If-None-Match": '"3"'}
    )
    assert_problem(clash, 412)
    assert await _version(client, product.id) == 3


async def test_if_none_match_on_an_unknown_product_is_404(client: AsyncTestClient) -> None:
    """A PUT does not create products, so If-None-Match: * on an unknown id is 404, not a write."""
    response = await client.put(
        "/products/999999999", json={"price": "1.00", "stock": 1}, headers={"If-None-Match": "*"}
    )
    assert_problem(response, 404)


@pytest.fixture(name="strict_client", scope="module")
async def _strict_client(settings: Settings, write_key: tuple[str, ApiKey]) -> AsyncIterator[AsyncTestClient]:
    """An app configured to require If-Match on writes, with the session's write key."""
    strict = msgspec.structs.replace(settings, require_if_match=True)
    async with AsyncTestClient(app=create_app(strict)) as client:
        client.headers["Authorization"] = f"Bearer {write_key[0]}"
        yield client


async def test_required_if_match_missing_is_428(
    strict_client: AsyncTestClient, new_product: NewProduct
) -> None:
    """With PRODUCTCORE_REQUIRE_IF_MATCH, a write without If-Match is 428 and changes nothing."""
    product = await new_product()
    assert_problem(
        await strict_client.put(f"/products/{product.id}", json={"price": "1.00", "stock": 1}), 428
    )
    ok = await strict_client.put(
        f"/products/{product.id}", json={"price": "1.00", "stock": 1}, headers={"If-Match": '"1"'}
    )
    assert ok.status_code == 200


async def test_required_if_match_refuses_a_star(
    strict_client: AsyncTestClient, new_product: NewProduct
) -> None:
    """With PRODUCTCORE_REQUIRE_IF_MATCH, If-Match: * names no version: 428 saying so, and no write."""
    product = await new_product()
    response = await strict_client.put(
        f"/products/{product.id}", json={"price": "1.00", "stock": 1}, headers={"If-Match": "*"}
    )
    body = assert_problem(response, 428)
    assert "If-Match: *" in body["detail"]
    assert await _version(strict_client, product.id) == 1


async def test_out_of_band_sql_update_bumps_the_version(
    client: AsyncTestClient, new_product: NewProduct, pool
) -> None:
    """A change made directly in SQL gets a new version (the trigger), visible through the API."""
    product = await new_product(price="10.00")
    async with pool.connection() as conn:
        await conn.execute("UPDATE products SET stock = stock + 1, version = 1 WHERE id = %s", (product.id,))
    body = (await client.get(f"/products/{product.id}")).json()
    assert (body["version"], body["stock"]) == (2, product.stock + 1)
