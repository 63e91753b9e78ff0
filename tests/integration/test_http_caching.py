"""HTTP caching headers (RFC 9110/9111): Cache-Control per resource, Vary, validators, one answer per path."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from litestar.testing import AsyncTestClient

from entrypoints.http.front import FrontDoor
from tests.integration.conftest import NewProduct

LONG = "A kettle with a long description, written to be well over the compression threshold. " * 30
"""A description that makes a product body larger than 1 KiB, where Litestar would gzip."""


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/products?limit=1", "no-store"),
        ("/products?limit=100", "no-store"),
        ("/products/search?name=kettle", "no-store"),
        ("/products/search", "no-store"),
        ("/products/987654321", "no-store"),
        ("/products/abc", "no-store"),
        ("/nowhere", "no-store"),
        ("/health/live", "no-store"),
        ("/health/ready", "no-store"),
        ("/metrics", "no-store"),
        ("/docs/openapi.json", "max-age=300"),
        ("/docs", "max-age=300"),
    ],
)
async def test_every_resource_says_how_it_may_be_cached(
    client: AsyncTestClient, path: str, expected: str
) -> None:
    """Lists, search, errors, probes and metrics are never stored; the schema and docs briefly."""
    for encoding in ("identity", "gzip"):
        response = await client.get(path, headers={"Accept-Encoding": encoding})
        assert response.headers["cache-control"] == expected, (path, encoding, response.status_code)


async def test_a_405_is_not_stored(client: AsyncTestClient) -> None:
    """A 405, heuristically cacheable by default, says no-store like every problem."""
    response = await client.delete("/products")
    assert response.status_code == 405 and response.headers["cache-control"] == "no-store"


@pytest.mark.parametrize("path", ["/products?limit=1", "/products?limit=100", "/products/search?name=e"])
async def test_negotiated_answers_always_carry_vary(client: AsyncTestClient, path: str) -> None:
    """A page is gzipped or not by Accept-Encoding, and says so with Vary whichever it sent."""
    plain = await client.get(path, headers={"Accept-Encoding": "identity"})
    packed = await client.get(path, headers={"Accept-Encoding": "gzip"})
    assert "content-encoding" not in plain.headers
    for response in (plain, packed):
        assert response.headers["vary"] == "Accept-Encoding", path


async def test_a_large_page_is_gzipped(client: AsyncTestClient, new_product: NewProduct) -> None:
    """Pages over 1 KiB go gzip to clients that accept it (the body decodes to the same JSON)."""
    for _ in range(3):
        await new_product(description=LONG)
    response = await client.get("/products?limit=3&sort=-id", headers={"Accept-Encoding": "gzip"})
    assert response.headers["content-encoding"] == "gzip"
    assert response.json()["items"][0]["description"] == LONG


@pytest.mark.parametrize("description", ["short", LONG])
async def test_a_product_has_one_representation(
    client: AsyncTestClient, new_product: NewProduct, description: str
) -> None:
    """A product, however long, is never compressed: one body, one strong ETag, no Vary (200 and 304)."""
    product = await new_product(description=description)
    url = f"/products/{product.id}"
    plain = await client.get(url, headers={"Accept-Encoding": "identity"})
    packed = await client.get(url, headers={"Accept-Encoding": "gzip, br"})
    revalidated = await client.get(url, headers={"Accept-Encoding": "gzip", "If-None-Match": '"1"'})
    assert plain.content == packed.content and len(plain.content) == int(packed.headers["content-length"])
    for response in (plain, packed, revalidated):
        assert "content-encoding" not in response.headers and "vary" not in response.headers
        assert response.headers["etag"] == '"1"' and response.headers["cache-control"] == "no-cache"
    assert revalidated.status_code == 304


async def test_a_put_answer_is_not_compressed(client: AsyncTestClient, new_product: NewProduct) -> None:
    """The product a PUT returns, with its new ETag, is the same single representation."""
    product = await new_product(description=LONG)
    response = await client.put(
        f"/products/{product.id}", json={"price": "1.00", "stock": 1}, headers={"Accept-Encoding": "gzip"}
    )
    assert response.status_code == 200 and "content-encoding" not in response.headers
    assert response.headers["etag"] == '"2"' and "vary" not in response.headers


_PER_RESPONSE = {"x-request-id", "date", "ratelimit"}


def _answer(response: httpx.Response) -> tuple[int, list[tuple[str, str]], bytes]:
    headers = sorted((k, v) for k, v in response.headers.items() if k not in _PER_RESPONSE)
    return (
        response.status_code,
        headers,
        response.content.replace(response.headers["x-request-id"].encode(), b""),
    )


@pytest.fixture(name="front_door")
async def _front_door(client: AsyncTestClient) -> AsyncIterator[FrontDoor]:
    """The app's front door (started by the client), restored after the test."""
    front = client.app.asgi_handler
    assert isinstance(front, FrontDoor)
    service = front.service
    yield front
    front.service = service


async def test_front_door_and_litestar_answer_product_reads_alike(
    client: AsyncTestClient, new_product: NewProduct, front_door: FrontDoor
) -> None:
    """The front door's answer to GET/HEAD /products/{id} is the Litestar handler's, field for field."""
    short, long = await new_product(description="short"), await new_product(description=LONG)
    requests = [
        (method, f"/products/{product.id}", headers)
        for product in (short, long)
        for method in ("GET", "HEAD")
        for headers in (
            {},
            {"Accept-Encoding": "gzip"},
            {"If-None-Match": '"1"'},
            {"If-None-Match": 'W/"1", "9"'},
            {"If-None-Match": '"2"', "Accept-Encoding": "gzip"},
            {"If-None-Match": "not a tag"},
        )
    ]
    requests += [("GET", "/products/987654321", {}), ("HEAD", "/products/987654321", {})]
    service = front_door.service
    front = [_answer(await client.request(m, p, headers=h)) for m, p, h in requests]
    front_door.service = None  # the front door passes every request on to Litestar's router
    routed = [_answer(await client.request(m, p, headers=h)) for m, p, h in requests]
    front_door.service = service
    assert front == routed
    assert {status for status, _, _ in front} == {200, 304, 400, 404}


async def test_docs_assets_are_sent_gzipped_or_plain_and_kept_for_a_year(client: AsyncTestClient) -> None:
    """A versioned docs asset: gzip as stored, or decompressed; Vary either way; immutable; unknown is 404."""
    path = "/docs/assets/swagger-ui-dist-5.35.0/swagger-ui.css"
    packed = await client.get(path, headers={"Accept-Encoding": "gzip"})
    plain = await client.get(path, headers={"Accept-Encoding": "identity"})
    assert packed.headers["content-encoding"] == "gzip" and "content-encoding" not in plain.headers
    assert packed.content == plain.content and plain.content.startswith(b".swagger-ui")
    for response in (packed, plain):
        assert response.headers["vary"] == "Accept-Encoding"
        assert response.headers["cache-control"] == "max-age=31536000, immutable"
        assert response.headers["content-type"] == "text/css; charset=utf-8"
    for unknown in ("/docs/assets/swagger-ui-dist-5.35.0/index.html", "/docs/assets/other-1.0/x.js"):
        assert (await client.get(unknown)).status_code == 404
