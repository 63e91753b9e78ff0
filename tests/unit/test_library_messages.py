"""The few messages Litestar writes, pinned through the real library: a rewording upgrade fails here.

Everything else a client is told comes from the service's own checks; the last test holds that no
bad request falls through to the catch-all "has an invalid value".
"""

from __future__ import annotations

from typing import Any

import msgspec
import pytest
from litestar.exceptions import ClientException
from litestar.testing import AsyncTestClient

from entrypoints.http.messages import UNKNOWN
from entrypoints.http.problems import http_problem
from tests.unit.products_app import products_app

JSON = {"content-type": "application/json"}


async def errors_of(method: str, url: str, content: bytes | None = None) -> list[dict[str, Any]]:
    """The ``errors`` of the 400 problem the app answers with."""
    async with AsyncTestClient(products_app()) as client:
        response = await client.request(method, url, content=content, headers=JSON)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/problem+json"
    errors: list[dict[str, Any]] = response.json()["errors"]
    return errors


async def test_an_unknown_sort_is_said_in_words() -> None:
    """Litestar's "Invalid enum value" becomes the list of orders the API takes."""
    assert await errors_of("GET", "/products?sort=colour") == [
        {
            "location": "query",
            "field": "sort",
            "message": "'colour' is not one of: id, -id, price, -price, name, -name",
        }
    ]


async def test_a_put_without_a_body_is_told_what_to_send() -> None:
    """Litestar finds no ``data`` for an empty body; the client is told to send price and stock."""
    assert await errors_of("PUT", "/products/1", b"") == [
        {
            "location": "body",
            "field": "body",
            "message": "is required: send a JSON object with price and stock",
        }
    ]


@pytest.mark.parametrize(
    ("url", "location", "field", "message"),
    [
        (
            "/products?page=1e2",
            "query",
            "page",
            "must be a whole number from 1 to 2147483647, in plain digits",
        ),
        ("/products?limit=0", "query", "limit", "must be a whole number from 1 to 100, in plain digits"),
        (
            "/products/1.0",
            "path",
            "product_id",
            "must be a whole number from 1 to 9223372036854775807, in plain digits",
        ),
    ],
)
async def test_parameter_decoders_are_quoted_as_they_speak(
    url: str, location: str, field: str, message: str
) -> None:
    """Litestar passes the whole-number decoders' own messages on, word for word."""
    assert await errors_of("GET", url) == [{"location": location, "field": field, "message": message}]


@pytest.mark.parametrize(
    ("method", "url", "body"),
    [
        ("GET", "/products/search?name=", None),
        ("GET", "/products/search?name=" + "x" * 201, None),
        ("GET", "/products/search?name=a&min_price=1e2&max_price=-1", None),
        ("GET", "/products?cursor=ab%21cd", None),
        ("GET", "/products?sort=-", None),
        ("GET", "/products?page=-1&limit=%2B5", None),
        ("PUT", "/products/1", b"{"),
        ("PUT", "/products/1", b"[1]"),
        ("PUT", "/products/1", b'{"price": true, "stock": 1.0, "colour": 1}'),
        ("PUT", "/products/1", b'{"price": {"a": 1}}'),
        ("PUT", "/products/1", b'{"price": "1e400", "stock": 1' + b"0" * 5000 + b"}"),
    ],
)
async def test_no_bad_request_falls_through_to_the_catch_all(
    method: str, url: str, body: bytes | None
) -> None:
    """Every field of every bad request is explained by a rule of ours, never by the catch-all."""
    for error in await errors_of(method, url, body):
        assert error["message"] != UNKNOWN and "`" not in error["message"], error


async def test_a_malformed_content_length_names_the_header() -> None:
    """Litestar's "Invalid content-length" 400 names the header in our words, not its own text."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "PUT",
        "scheme": "http",
        "path": "/products/1",
        "raw_path": b"/products/1",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"x"), (b"content-type", b"application/json"), (b"content-length", b"abc")],
        "client": ("127.0.0.1", 1),
        "server": ("x", 80),
        "state": {},
    }
    requests = [{"type": "http.request", "body": b'{"price": "1.00", "stock": 1}', "more_body": False}]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return requests.pop(0) if requests else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await products_app()(scope, receive, send)  # type: ignore[arg-type]
    assert sent[0]["status"] == 400
    body = msgspec.json.decode(b"".join(m.get("body", b"") for m in sent[1:]))
    assert body["errors"] == [
        {
            "location": "header",
            "field": "Content-Length",
            "message": "must be the length of the body in bytes, in digits",
        }
    ]


def test_other_unreadable_requests_show_none_of_litestars_text() -> None:
    """Any other 400 Litestar raises itself is said in our words, whatever its text."""
    problem = http_problem(ClientException("Unexpected eof in multipart/form-data"))
    assert problem.detail == "body: could not be read"
