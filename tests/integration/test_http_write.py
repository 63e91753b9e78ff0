"""PUT /products/{id}: price and stock changes, conditional writes, and bad bodies that change nothing."""

from __future__ import annotations

import re
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
    body = assert_problem(
        await strict_client.put(f"/products/{product.id}", json={"price": "1.00", "stock": 1}), 428
    )
    assert body["type"] == "urn:productcore:problem:if-match-required"
    assert not re.search(r'"\d+"', body["detail"]), "the detail must not suggest a version"
    ok = await strict_client.put(
        f"/products/{product.id}", json={"price": "1.00", "stock": 1}, headers={"If-Match": '"1"'}
    )
    assert ok.status_code == 200 and ok.json()["version"] == 2


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


@pytest.mark.parametrize(
    "headers",
    [
        {"content-type": "text/plain"},
        {"content-type": "application/x-www-form-urlencoded"},
        {"content-type": "multipart/form-data; boundary=x"},
        {"content-type": "application/json; charset=latin-1"},
        {},
        {"content-type": "application/json", "content-encoding": "gzip"},
        {"content-type": "application/json", "content-encoding": "br"},
        {"content-type": "application/json", "content-encoding": "identity, deflate"},
    ],
)
async def test_a_body_not_declared_as_plain_json_is_415_and_changes_nothing(
    client: AsyncTestClient, new_product: NewProduct, headers: dict[str, str]
) -> None:
    """A valid JSON body sent as another media type, with none, or with a content coding is refused."""
    product = await new_product(price="10.00", stock=5)
    response = await client.put(
        f"/products/{product.id}", content=b'{"price": "1.00", "stock": 1}', headers=headers
    )
    body = assert_problem(response, 415)
    assert body["type"] == "urn:productcore:problem:unsupported-media-type"
    if "content-encoding" in headers:
        assert response.headers["accept-encoding"] == "identity"
    after = (await client.get(f"/products/{product.id}")).json()
    assert (after["version"], after["price"], after["stock"]) == (1, "10.00", 5)


@pytest.mark.parametrize(
    "content_type",
    ["application/json", "Application/JSON; charset=UTF-8", "application/merge-patch+json"],
)
async def test_json_media_types_are_accepted(
    client: AsyncTestClient, new_product: NewProduct, content_type: str
) -> None:
    """application/json in any case, with a UTF-8 charset, or a +json type is read as JSON."""
    product = await new_product()
    response = await client.put(
        f"/products/{product.id}",
        content=b'{"price": "2.00", "stock": 3}',
        headers={"content-type": content_type, "content-encoding": "identity"},
    )
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("stock", ['"1e1"', '"1"', '"-0"', "1.0", "1e1", "5.0E0", "-0.0"])
async def test_stock_must_be_a_json_integer(
    client: AsyncTestClient, new_product: NewProduct, stock: str
) -> None:
    """Stock written as a string, a fraction or an exponent is refused even when it is integral."""
    product = await new_product(price="10.00", stock=5)
    response = await client.put(
        f"/products/{product.id}", content=f'{{"price": "1.00", "stock": {stock}}}', headers=JSON
    )
    body = assert_problem(response, 400, "stock")
    assert body["errors"] == [
        {
            "location": "body",
            "field": "stock",
            "message": "must be a whole number written as a JSON integer, such as 5",
        }
    ]
    assert await _version(client, product.id) == 1


@pytest.mark.parametrize(
    ("price", "message"),
    [
        ("-1", "must not be negative"),
        ("10000000000", "must not exceed 9999999999.99"),
        ("12.345", "must have at most 2 decimal places"),
    ],
)
async def test_a_string_price_is_explained_as_the_same_number_is(
    client: AsyncTestClient, new_product: NewProduct, price: str, message: str
) -> None:
    """Negative, too large and over-precise prices get the same specific message as a string or a number."""
    product = await new_product()
    url = f"/products/{product.id}"
    as_string = await client.put(url, content=f'{{"price": "{price}", "stock": 1}}', headers=JSON)
    as_number = await client.put(url, content=f'{{"price": {price}, "stock": 1}}', headers=JSON)
    assert (
        assert_problem(as_string, 400, "price")["errors"] == assert_problem(as_number, 400, "price")["errors"]
    )
    assert as_string.json()["errors"][0]["message"] == message
    nan = await client.put(url, content='{"price": "NaN", "stock": 1}', headers=JSON)
    assert assert_problem(nan, 400, "price")["errors"][0]["message"] == "must be a finite number"


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ("", "body", "is required: send a JSON object with price and stock"),
        ('{"price": true, "stock": 5}', "price", None),
        ('{"price": 1e400, "stock": 5}', "price", "must not exceed 9999999999.99"),
        ('{"price": 1e-400, "stock": 5}', "price", "must have at most 2 decimal places"),
        ('{"price": "1.00", "stock": 1e400}', "stock", None),
        ('{"price": 1, "stock": 99999999999999999999999}', "stock", "must not exceed 2147483647"),
        ('{"price": 1, "stock": 1' + "0" * 5000 + "}", "stock", "must not exceed 2147483647"),
        ('{"price": ' + "[" * 3000 + "]" * 3000 + ', "stock": 1}', "body", "is not valid JSON"),
        ("[" * 30000 + "]" * 30000, "body", None),
    ],
)
async def test_bad_bodies_are_explained_in_plain_words_on_the_right_field(
    client: AsyncTestClient, new_product: NewProduct, body: str, field: str, message: str | None
) -> None:
    """An empty body, a boolean price, out-of-range numbers and deep nesting name the field, in words."""
    product = await new_product()
    response = await client.put(f"/products/{product.id}", content=body, headers=JSON)
    problem = assert_problem(response, 400, field)
    if message is not None:
        assert {"location": "body", "field": field, "message": message} in problem["errors"]
    assert await _version(client, product.id) == 1


@pytest.mark.parametrize("raw_id", ["1.3e1", "13.0", "1e1"])
async def test_put_to_a_float_id_writes_nothing(
    client: AsyncTestClient, new_product: NewProduct, raw_id: str
) -> None:
    """An id written as a float is refused on writes, not rounded to another product."""
    product = await new_product()
    response = await client.put(f"/products/{raw_id}", json={"price": "1.00", "stock": 1})
    assert_problem(response, 400, "product_id")
    assert await _version(client, product.id) == 1
