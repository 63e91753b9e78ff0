"""Hostile input: oversized requests, SQL-shaped strings, odd Unicode and LIKE wildcards are just data."""

from __future__ import annotations

import time
import unicodedata
import uuid
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

import httpx
import msgspec
import pytest
from litestar.testing import AsyncTestClient
from psycopg_pool import AsyncConnectionPool

from adapters.postgres import PostgresProductRepository
from entrypoints.apikeys import ApiKey
from entrypoints.http import create_app
from entrypoints.settings import Settings
from productcore.errors import InvalidInput
from productcore.model import Cursor, Sort
from tests.integration.conftest import NewProduct
from tests.integration.helpers import assert_problem
from tests.integration.live import live_server

PROBLEM = "application/problem+json"

INJECTIONS = [
    "' OR '1'='1",
    "1; DROP TABLE products; --",
    "1' UNION SELECT version(), null, null --",
    "%' OR name ILIKE '%",
    "'; SELECT pg_sleep(5); --",
    "$$; DELETE FROM products; $$",
    "1)) OR ((1=1",
    "\\'; TRUNCATE products CASCADE; --",
    "’ OR 1=1 --",  # noqa: RUF001 - a typographic quote, on purpose
    "1 AND 1=CAST((SELECT current_user) AS int)",
    '{"$gt": ""}',
]


def assert_client_error_or_ok(response: httpx.Response) -> None:
    """Never a server error; every error is a problem document with the request id."""
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        assert response.headers["content-type"] == PROBLEM
        assert response.json()["request_id"] == response.headers["x-request-id"]


async def product_state(pool: AsyncConnectionPool) -> tuple[int, int]:
    """How many products there are and the sum of their versions: any write would change it."""
    async with pool.connection() as conn:
        row = await (
            await conn.execute("SELECT count(*), coalesce(sum(version), 0) FROM products")
        ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


@pytest.mark.parametrize("payload", INJECTIONS)
async def test_sql_shaped_strings_in_every_parameter_are_data(
    client: AsyncTestClient, pool: AsyncConnectionPool, new_product: NewProduct, payload: str
) -> None:
    """An SQL-shaped string in the path, any query parameter, a header or the body changes nothing."""
    product = await new_product()
    before = await product_state(pool)
    encoded = quote(payload, safe="")
    requests: list[tuple[str, str, dict[str, Any]]] = [
        ("GET", f"/products/{encoded}", {}),
        ("GET", f"/products/{product.id}", {"headers": {"If-None-Match": payload.encode()}}),
        ("GET", f"/products/{product.id}", {"headers": {"X-Request-ID": payload.encode()}}),
        ("GET", "/products", {"headers": {"Authorization": f"Bearer {payload}".encode()}}),
        ("PUT", f"/products/{encoded}", {"json": {"price": "1.00", "stock": 1}}),
        ("PUT", f"/products/{product.id}", {"json": {"price": payload, "stock": 1}}),
        ("PUT", f"/products/{product.id}", {"json": {"price": "1.00", "stock": payload}}),
        ("PUT", f"/products/{product.id}", {"json": {"price": "1.00", "stock": 1, payload: 1}}),
        (
            "PUT",
            f"/products/{product.id}",
            {"json": {"price": 1, "stock": 1}, "headers": {"If-Match": payload.encode()}},
        ),
    ]
    for parameter in ("name", "min_price", "max_price", "page", "limit", "sort", "cursor"):
        requests.append(("GET", f"/products/search?{parameter}={encoded}", {}))
        requests.append(("GET", f"/products/search?name=a&{parameter}={encoded}", {}))
        requests.append(("GET", f"/products?{parameter}={encoded}", {}))
    started = time.monotonic()
    for method, url, options in requests:
        assert_client_error_or_ok(await client.request(method, url, **options))
    assert time.monotonic() - started < 5, "something slept: a payload reached SQL as code"
    assert await product_state(pool) == before
    search = await client.get("/products/search", params={"name": payload})
    assert search.status_code == 200
    assert all(payload.strip().lower() in item["name"].lower() for item in search.json()["items"])


async def test_an_sql_shaped_name_round_trips_and_is_found_literally(
    client: AsyncTestClient, new_product: NewProduct
) -> None:
    """A product named like an injection is stored, returned and found exactly as written."""
    tag = uuid.uuid4().hex[:8]
    name = f"Robert'); DROP TABLE products; -- {tag}"
    product = await new_product(name=name)
    assert (await client.get(f"/products/{product.id}")).json()["name"] == name
    found = (
        await client.get("/products/search", params={"name": f"'); DROP TABLE products; -- {tag}"})
    ).json()
    assert [item["id"] for item in found["items"]] == [product.id]


UNICODE_NAMES = [
    pytest.param("Cafe\u0301 cre\u0300me bru\u0302le\u0301e", id="combining-marks-nfd"),
    pytest.param("Café crème brûlée", id="precomposed-nfc"),
    pytest.param("שמן זית כתית מעולה", id="hebrew-rtl"),
    pytest.param("\u200fزيت زيتون\u200e 500ml", id="arabic-with-direction-marks"),
    pytest.param("abc\u202edcba\u202c", id="rtl-override"),
    pytest.param("Test tube 🧪 family 👩‍👩‍👧‍👦 flag 🏳️‍🌈", id="emoji-zwj-sequences"),
    pytest.param("𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𝟙𝟚𝟛", id="astral-plane"),  # noqa: RUF001 - look-alikes, on purpose
    pytest.param("Z̴̡̛a̸͈͝l̵̰̐g̶̗̈́o̷̳͑", id="zalgo"),
    pytest.param("日本語の商品名　全角スペース", id="cjk-ideographic-space"),
    pytest.param("zero\u200bwidth\ufeffbom", id="zero-width"),
]


@pytest.mark.parametrize("name", UNICODE_NAMES)
async def test_unicode_names_round_trip_and_are_searchable(
    client: AsyncTestClient, new_product: NewProduct, name: str
) -> None:
    """Names keep every code point (no normalisation) through storage, JSON and a substring search."""
    tag = uuid.uuid4().hex[:8]
    product = await new_product(name=f"{name} {tag}")
    got = (await client.get(f"/products/{product.id}")).json()["name"]
    assert got == f"{name} {tag}"
    assert unicodedata.is_normalized("NFC", got) == unicodedata.is_normalized("NFC", name)
    found = await client.get("/products/search", params={"name": f"{name[len(name) // 3 :]} {tag}"})
    assert found.status_code == 200
    assert [item["id"] for item in found.json()["items"]] == [product.id]


@pytest.mark.parametrize(
    "query",
    [
        "name=%FF%FE",
        "name=%ED%A0%80",
        "name=%00",
        "name=a%00b",
        "min_price=%00",
        "cursor=%C0%AF",
        "page=%EF%BC%91",
    ],
)
async def test_undecodable_or_nul_query_values_are_400(client: AsyncTestClient, query: str) -> None:
    """Invalid UTF-8, NUL characters and non-ASCII digits in a query are refused, naming the parameter."""
    response = await client.get(f"/products/search?{query}")
    assert_problem(response, 400, query.partition("=")[0])


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ("min_price=1e2", "min_price", "must be a decimal amount such as 19.99 (at most two decimals)"),
        ("max_price=%2019.99", "max_price", "must be a decimal amount such as 19.99 (at most two decimals)"),
        ("min_price=-1", "min_price", "must not be negative"),
        ("max_price=NaN", "max_price", "must be a finite number"),
        ("max_price=10000000000", "max_price", "must not exceed 9999999999.99"),
        ("min_price=1.234", "min_price", "must have at most 2 decimal places"),
        ("name=%20", "name", "must not be blank"),
        ("name=%00", "name", "must not contain NUL characters"),
        ("name=a&cursor=", "cursor", "is not a cursor this service issued"),
        ("name=a&cursor=ab%21cd", "cursor", "is not a cursor this service issued"),
        ("name=a&cursor=" + "A" * 600, "cursor", "is not a cursor this service issued"),
        ("name=a&sort=colour", "sort", "'colour' is not one of: id, -id, price, -price, name, -name"),
        ("name=" + "x" * 201, "name", "must have at most 200 characters"),
        ("na%FFme=a", "query", "is not UTF-8 once percent-decoded"),
    ],
)
async def test_query_errors_are_plain_words_naming_the_parameter(
    client: AsyncTestClient, query: str, field: str, message: str
) -> None:
    """A bad query parameter is named with a sentence, never a regular expression or a type name."""
    body = assert_problem(await client.get(f"/products/search?{query}"), 400, field)
    assert {"location": "query", "field": field, "message": message} in body["errors"]
    assert f"{field}: {message}" in body["detail"]


@pytest.mark.parametrize(
    ("method", "url", "status", "slug"),
    [
        ("GET", "/nothing-here", 404, "not-found"),
        ("GET", "/products/987654321", 404, "product-not-found"),
        ("DELETE", "/products/1", 405, "method-not-allowed"),
        ("PATCH", "/products", 405, "method-not-allowed"),
    ],
)
async def test_every_problem_type_is_a_productcore_urn(
    client: AsyncTestClient, method: str, url: str, status: int, slug: str
) -> None:
    """Errors Litestar raises itself carry a productcore problem type like the others, never about:blank."""
    body = assert_problem(await client.request(method, url), status)
    assert body["type"] == f"urn:productcore:problem:{slug}"


async def test_a_value_the_database_refuses_is_a_client_error(repository: PostgresProductRepository) -> None:
    """A value PostgreSQL refuses (past validation) reaches the caller as InvalidInput, not a crash."""
    cursors = [
        Cursor(sort=Sort.NAME, key="a\x00b", id=5, before=False, page=2),
        Cursor(sort=Sort.PRICE, key="1e1000000", id=5, before=False, page=2),
    ]
    for cursor in cursors:
        with pytest.raises(InvalidInput) as error:
            await repository.fetch(None, cursor.sort, 5, cursor=cursor)
        assert [e.field for e in error.value.errors] == ["request"]
    assert repository.breaker.state == "closed"


async def test_like_wildcards_in_a_name_search_match_literally(
    client: AsyncTestClient, new_product: NewProduct
) -> None:
    """``%``, ``_`` and ``\\`` in a name search match only themselves."""
    tag = uuid.uuid4().hex[:8]
    names = {
        "percent": f"{tag} 100% cotton",
        "no-percent": f"{tag} 1000 cotton",
        "underscore": f"{tag} a_b",
        "any-char": f"{tag} axb",
        "backslash": f"{tag} back\\slash",
        "no-backslash": f"{tag} backslash",
        "escaped-percent": f"{tag} back\\%slash",
    }
    ids = {key: (await new_product(name=name)).id for key, name in names.items()}

    async def search(text: str) -> list[int]:
        response = await client.get("/products/search", params={"name": text, "limit": 100})
        assert response.status_code == 200, response.text
        return sorted(item["id"] for item in response.json()["items"])

    assert await search(f"{tag} 100%") == [ids["percent"]]
    assert await search(f"{tag} a_b") == [ids["underscore"]]
    assert await search(f"{tag} back\\") == sorted([ids["backslash"], ids["escaped-percent"]])
    assert await search(f"{tag} back\\%") == [ids["escaped-percent"]]
    assert await search(f"{tag} 100") == sorted([ids["percent"], ids["no-percent"]])
    assert await search(f"{tag} a") == sorted([ids["underscore"], ids["any-char"]])
    for wildcard in ("%", "_", "\\"):
        page = (await client.get("/products/search", params={"name": wildcard, "limit": 100})).json()
        assert page["items"], wildcard
        assert all(wildcard in item["name"] for item in page["items"]), wildcard


async def test_oversized_bodies_are_413(
    settings: Settings, write_key: tuple[str, ApiKey], new_product: NewProduct
) -> None:
    """Over a socket, a body over 64 KiB is refused with 413, whether its length is announced or chunked."""
    product = await new_product()
    headers = {"Authorization": f"Bearer {write_key[0]}", "Content-Type": "application/json"}

    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"price": "1.00", "stock": 1, "padding": "'
        for _ in range(100):
            yield b"y" * 1000
        yield b'"}'

    with live_server(create_app(settings)) as url:
        async with httpx.AsyncClient(base_url=url, headers=headers) as http:
            announced = await http.put(
                f"/products/{product.id}", json={"price": "1.00", "stock": 1, "padding": "x" * 70_000}
            )
            chunked = await http.put(f"/products/{product.id}", content=chunks())
            unread = await http.put(
                f"/products/{product.id}", content=chunks(), headers={"Authorization": ""}
            )
            current = await http.get(f"/products/{product.id}")
    for response in (announced, chunked):
        assert response.status_code == 413, response.text
        assert response.headers["content-type"] == PROBLEM
        assert response.json()["type"] == "urn:productcore:problem:body-too-large"
    assert unread.status_code == 401, "without a key the body is never read"
    assert current.json()["version"] == product.version


async def test_configured_limits_give_431_414_and_413(
    settings: Settings, write_key: tuple[str, ApiKey], new_product: NewProduct
) -> None:
    """Configured limits give problem responses: 431 for headers, 414 for the query, 413 for bodies."""
    product = await new_product()
    small = msgspec.structs.replace(settings, max_body_bytes=1024, max_header_bytes=2048, max_query_bytes=512)
    headers = {"Authorization": f"Bearer {write_key[0]}"}
    async with AsyncTestClient(app=create_app(small)) as client:
        client.headers.update(headers)
        big_header = await client.get(f"/products/{product.id}", headers={"X-Padding": "p" * 2100})
        many_headers = await client.get(
            f"/products/{product.id}", headers={f"X-Header-{n}": "v" * 20 for n in range(100)}
        )
        long_query = await client.get("/products/search", params={"name": "q" * 600})
        body = await client.put(
            f"/products/{product.id}", json={"price": "1.00", "stock": 1, "p": "x" * 2000}
        )
        fine = await client.get(f"/products/{product.id}", headers={"X-Padding": "p" * 1000})
    statuses = [r.status_code for r in (big_header, many_headers, long_query, body)]
    assert statuses == [431, 431, 414, 413]
    for response in (big_header, many_headers, long_query, body):
        assert response.headers["content-type"] == PROBLEM
        assert response.json()["request_id"] == response.headers["x-request-id"]
    assert fine.status_code == 200


async def test_a_head_too_large_for_the_server_is_refused_without_harm(
    settings: Settings, new_product: NewProduct
) -> None:
    """Over a socket, headers past uvicorn's h11 limit (16 KiB) get a 4xx and the server keeps serving."""
    product = await new_product()
    with live_server(create_app(settings)) as url:
        async with httpx.AsyncClient(base_url=url) as http:
            app_limit = await http.get(f"/products/{product.id}", headers={"X-Padding": "p" * 9000})
            server_limit = await http.get(f"/products/{product.id}", headers={"X-Padding": "p" * 40_000})
        async with httpx.AsyncClient(base_url=url) as http:
            after = await http.get(f"/products/{product.id}")
    assert app_limit.status_code == 431
    assert app_limit.headers["content-type"] == PROBLEM
    assert 400 <= server_limit.status_code < 500
    assert after.status_code == 200
