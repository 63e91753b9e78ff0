"""GET /products/{id}, GET /products and GET /products/search over real PostgreSQL."""

from __future__ import annotations

import base64
import json
import uuid

import httpx
import pytest
from litestar.testing import AsyncTestClient
from psycopg_pool import AsyncConnectionPool

from tests.integration.conftest import NewProduct
from tests.integration.helpers import assert_problem


async def _count(pool: AsyncConnectionPool, where: str = "", params: tuple = ()) -> int:
    async with pool.connection() as conn:
        row = await (await conn.execute(f"SELECT count(*) FROM products {where}", params)).fetchone()  # type: ignore[arg-type]
    assert row is not None
    return int(row[0])


async def test_get_returns_every_field_with_price_as_decimal_string(
    client: AsyncTestClient, new_product: NewProduct
) -> None:
    """A product is JSON with all fields; money is a decimal string, never a float."""
    product = await new_product(price="1234.50", stock=7, description="A fine thing")
    response = await client.get(f"/products/{product.id}")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body == {
        "id": product.id,
        "name": product.name,
        "description": "A fine thing",
        "price": "1234.50",
        "stock": 7,
        "version": 1,
        "created_at": body["created_at"],
        "updated_at": body["updated_at"],
    }
    assert body["created_at"].endswith("Z")
    assert response.headers["etag"] == '"1"'
    assert response.headers["x-request-id"]


async def test_unknown_id_is_404_problem(client: AsyncTestClient) -> None:
    """A well-formed id that no product has is a 404 problem."""
    body = assert_problem(await client.get("/products/987654321"), 404)
    assert body["instance"] == "/products/987654321"


@pytest.mark.parametrize(
    "raw_id",
    [
        "abc",
        "-1",
        "0",
        "1.5",
        "9223372036854775808",
        "99999999999999999999999",
        "%20",
        "1;DROP TABLE products",
    ],
)
async def test_malformed_ids_are_400_problems(client: AsyncTestClient, raw_id: str) -> None:
    """Non-numeric, non-positive and beyond-bigint ids are rejected before any query."""
    body = assert_problem(await client.get(f"/products/{raw_id}"), 400, "product_id")
    assert body["errors"][0]["location"] == "path"


async def test_if_none_match_with_current_etag_gives_304(
    client: AsyncTestClient, new_product: NewProduct
) -> None:
    """A client holding the current version gets 304 and no body; a stale one gets the product."""
    product = await new_product()
    url = f"/products/{product.id}"
    for header in ['"1"', 'W/"1"', '"7", "1"', "*"]:
        response = await client.get(url, headers={"If-None-Match": header})
        assert response.status_code == 304, header
        assert response.content == b"" and response.headers["etag"] == '"1"'
    response = await client.get(url, headers={"If-None-Match": '"0"'})
    assert response.status_code == 200 and response.json()["id"] == product.id


async def test_304_carries_the_cache_headers_of_the_200(
    client: AsyncTestClient, new_product: NewProduct
) -> None:
    """A 304 repeats the 200's ETag and Cache-Control (RFC 9110 §15.4.5), so caches keep revalidating."""
    product = await new_product()
    url = f"/products/{product.id}"
    full = await client.get(url)
    revalidated = await client.get(url, headers={"If-None-Match": full.headers["etag"]})
    assert revalidated.status_code == 304
    for name in ("etag", "cache-control", "vary", "expires", "content-location"):
        assert revalidated.headers.get(name) == full.headers.get(name), name
    assert revalidated.headers["cache-control"] == "no-cache"


_UNCHANGING = ("x-request-id", "ratelimit", "date")
"""Headers that differ between any two responses, HEAD or not."""


def _headers(response: httpx.Response) -> dict[str, str]:
    return {k: v for k, v in response.headers.items() if k not in _UNCHANGING}


async def test_head_answers_as_get_without_a_body(client: AsyncTestClient, new_product: NewProduct) -> None:
    """HEAD works wherever GET does, with the GET's status and headers (length, gzip) and no body."""
    product = await new_product()
    paths = [
        f"/products/{product.id}",
        "/products?limit=2&sort=-id",
        f"/products/search?name={product.name.split()[2]}",
        "/products?limit=100",
        "/health/live",
        "/products/999999999",
        "/products/abc",
    ]
    for path in paths:
        get = await client.get(path)
        head = await client.head(path)
        assert head.status_code == get.status_code, path
        assert head.content == b"", path
        assert _headers(head) == _headers(get), path
        assert head.headers["content-length"] == get.headers["content-length"], path
    conditional = await client.head(f"/products/{product.id}", headers={"If-None-Match": '"1"'})
    assert conditional.status_code == 304 and conditional.headers["etag"] == '"1"'


@pytest.mark.parametrize(
    ("path", "methods"),
    [
        ("/products/1", "GET, HEAD, PUT, OPTIONS"),
        ("/products", "GET, HEAD, OPTIONS"),
        ("/products/search", "GET, HEAD, OPTIONS"),
        ("/health/live", "GET, HEAD, OPTIONS"),
    ],
)
async def test_options_and_405_name_every_method_of_the_path(
    client: AsyncTestClient, path: str, methods: str
) -> None:
    """OPTIONS and a 405 on the same path give the same, complete Allow, HEAD included."""
    options = await client.options(path)
    assert options.status_code == 204 and options.headers["allow"] == methods
    refused = await client.request("DELETE", path)
    assert_problem(refused, 405)
    assert refused.headers["allow"] == methods


async def test_malformed_if_none_match_is_a_400_problem(
    client: AsyncTestClient, new_product: NewProduct
) -> None:
    """An If-None-Match that is not a list of entity tags is rejected."""
    product = await new_product()
    assert_problem(await client.get(f"/products/{product.id}", headers={"If-None-Match": "1"}), 400)


async def test_list_returns_page_with_metadata_and_links(
    client: AsyncTestClient, new_product: NewProduct, pool: AsyncConnectionPool
) -> None:
    """GET /products gives items, exact totals and links that walk the whole catalogue."""
    for _ in range(5):
        await new_product()
    total = await _count(pool)
    response = await client.get("/products", params={"page": 1, "limit": 2})
    assert response.status_code == 200
    body = response.json()
    assert body["meta"] == {
        "page": 1,
        "limit": 2,
        "sort": "id",
        "total": total,
        "total_is_exact": True,
        "total_pages": -(-total // 2),
    }
    assert len(body["items"]) == 2 and body["links"]["prev"] is None
    assert body["links"]["first"] == "/products?limit=2&sort=id&page=1"
    seen = [item["id"] for item in body["items"]]
    pages = 1
    while body["links"]["next"]:
        body = (await client.get(body["links"]["next"])).json()
        pages += 1
        assert body["meta"]["page"] == pages
        seen += [item["id"] for item in body["items"]]
    assert pages == -(-total // 2)
    assert seen == sorted(seen) and len(set(seen)) == total


async def test_prev_link_returns_to_the_previous_page(
    client: AsyncTestClient, new_product: NewProduct
) -> None:
    """Following next then prev gives back the same page."""
    for _ in range(4):
        await new_product()
    first = (await client.get("/products", params={"limit": 2, "sort": "-price"})).json()
    second = (await client.get(first["links"]["next"])).json()
    back = (await client.get(second["links"]["prev"])).json()
    assert back["items"] == first["items"] and back["meta"]["page"] == 1


@pytest.mark.parametrize("sort", ["id", "-id", "price", "-price", "name", "-name"])
async def test_each_sort_orders_pages_as_the_database_does(
    client: AsyncTestClient, new_product: NewProduct, pool: AsyncConnectionPool, sort: str
) -> None:
    """Every sort order is honoured, with id breaking ties (names in the database's collation)."""
    await new_product(price="3.00")
    await new_product(price="3.00")
    column, direction = sort.lstrip("-"), "DESC" if sort.startswith("-") else "ASC"
    async with pool.connection() as conn:
        cur = await conn.execute(
            f"SELECT id FROM products ORDER BY {column} {direction}, id {direction} LIMIT 50"
        )  # type: ignore[arg-type]
        expected = [row[0] for row in await cur.fetchall()]
    body = (await client.get("/products", params={"limit": 50, "sort": sort})).json()
    assert [i["id"] for i in body["items"]] == expected


async def test_page_beyond_the_end_is_empty_not_an_error(
    client: AsyncTestClient, pool: AsyncConnectionPool
) -> None:
    """Asking past the last page returns no items and a prev link to a real page."""
    total = await _count(pool)
    body = (await client.get("/products", params={"page": 1_000_000, "limit": 100})).json()
    assert body["items"] == [] and body["meta"]["total"] == total
    assert body["links"]["next"] is None and body["links"]["prev"] is not None


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"page": 0}, "page"),
        ({"page": -1}, "page"),
        ({"page": "two"}, "page"),
        ({"page": 2**31}, "page"),
        ({"limit": 0}, "limit"),
        ({"limit": 101}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"sort": "colour"}, "sort"),
        ({"sort": "price; DROP TABLE products"}, "sort"),
        ({"cursor": "not-a-cursor"}, "cursor"),
    ],
)
async def test_bad_page_parameters_are_400_problems(
    client: AsyncTestClient, params: dict, field: str
) -> None:
    """Each bad paging parameter is named in the problem's errors."""
    body = assert_problem(await client.get("/products", params=params), 400, field)
    assert body["errors"][0]["message"]


async def test_cursor_from_another_sort_is_rejected(client: AsyncTestClient, new_product: NewProduct) -> None:
    """A cursor only works with the sort it was issued for."""
    await new_product()
    await new_product()
    first = (await client.get("/products", params={"limit": 1, "sort": "price"})).json()
    cursor = first["links"]["next"].split("cursor=")[1]
    assert_problem(
        await client.get("/products", params={"limit": 1, "sort": "name", "cursor": cursor}), 400, "cursor"
    )


async def test_search_by_name_is_a_case_insensitive_substring(
    client: AsyncTestClient, new_product: NewProduct
) -> None:
    """name matches anywhere in the name, in any case."""
    a = await new_product(name="Zorblax Teapot Deluxe")
    b = await new_product(name="mini ZORBLAX")
    await new_product(name="Zorbla teapot")
    body = (await client.get("/products/search", params={"name": "zorBLAX"})).json()
    assert [i["id"] for i in body["items"]] == [a.id, b.id]
    assert body["meta"]["total"] == 2 and body["meta"]["total_is_exact"] is True


async def test_search_by_price_range_alone_and_with_name(
    client: AsyncTestClient, new_product: NewProduct
) -> None:
    """Price bounds are inclusive and combine with a name."""
    cheap = await new_product(name="Quillfeather budget", price="5.00")
    mid = await new_product(name="Quillfeather mid", price="50.00")
    await new_product(name="Quillfeather luxe", price="500.00")
    both = (
        await client.get(
            "/products/search", params={"name": "quillfeather", "min_price": "5", "max_price": 50}
        )
    ).json()
    assert [i["id"] for i in both["items"]] == [cheap.id, mid.id]
    only_price = (
        await client.get("/products/search", params={"min_price": "50.00", "max_price": "50.00"})
    ).json()
    assert mid.id in [i["id"] for i in only_price["items"]]
    assert all(i["price"] == "50.00" for i in only_price["items"])


async def test_search_pages_keep_their_criteria_in_links(
    client: AsyncTestClient, new_product: NewProduct
) -> None:
    """next links of a search carry the search criteria."""
    ids = [(await new_product(name=f"Brindlewood chair {n}")).id for n in range(3)]
    body = (await client.get("/products/search", params={"name": "brindlewood", "limit": 2})).json()
    assert "name=brindlewood" in body["links"]["next"]
    rest = (await client.get(body["links"]["next"])).json()
    assert [i["id"] for i in body["items"] + rest["items"]] == ids


async def test_search_matches_like_wildcards_literally(
    client: AsyncTestClient, new_product: NewProduct
) -> None:
    """%, _ and backslash in a name query are plain characters."""
    tag = uuid.uuid4().hex[:8]
    literal = await new_product(name=f"Gizmo {tag}100%_off \\o/")
    await new_product(name=f"Gizmo {tag}1000 offer")
    await new_product(name=f"Gizmo {tag}1__ \\\\o/")
    for query in [f"{tag}100%_off", f"{tag}100%", f"{tag}100%_", f"{tag}100%_off \\o"]:
        body = (await client.get("/products/search", params={"name": query})).json()
        assert [i["id"] for i in body["items"]] == [literal.id], query
    body = (await client.get("/products/search", params={"name": f"{tag}1_"})).json()
    assert len(body["items"]) == 1 and body["items"][0]["id"] != literal.id
    assert (await client.get("/products/search", params={"name": f"{tag}10_"})).json()["items"] == []


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({}, "name"),
        ({"page": 2}, "name"),
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"min_price": "cheap"}, "min_price"),
        ({"max_price": "-1"}, "max_price"),
        ({"min_price": "NaN"}, "min_price"),
        ({"min_price": "10", "max_price": "5"}, "min_price"),
        ({"name": "a", "limit": 1000}, "limit"),
        ({"name": "a", "sort": "stock"}, "sort"),
    ],
)
async def test_bad_searches_are_400_problems(client: AsyncTestClient, params: dict, field: str) -> None:
    """No criterion, bad prices, min > max and bad paging are named in the problem."""
    assert_problem(await client.get("/products/search", params=params), 400, field)


def _cursor(*parts: object) -> str:
    """A cursor as a client could forge one: any JSON array, base64url without padding."""
    return base64.urlsafe_b64encode(json.dumps(list(parts)).encode()).rstrip(b"=").decode()


@pytest.mark.parametrize("path", ["/products", "/products/search?min_price=0"])
@pytest.mark.parametrize(
    ("sort", "parts"),
    [
        ("name", ["name", "a\u0000b", 5, False, 2]),
        ("name", ["name", "", 5, False, 2]),
        ("price", ["price", "1e1000000", 5, False, 2]),
        ("price", ["price", "1e131072", 5, False, 2]),
        ("price", ["price", "1e-1000000", 5, False, 2]),
        ("price", ["price", "10000000000.00", 5, False, 2]),
        ("price", ["price", "1.005", 5, False, 2]),
        ("price", ["price", "-1", 5, False, 2]),
        ("price", ["price", "NaN", 5, False, 2]),
        ("price", ["price", 5, 5, False, 2]),
        ("id", ["id", 5, 5, False, 2**31]),
        ("id", ["id", 5, 5, False, 0]),
        ("id", ["id", 5, 2**63, False, 2]),
        ("id", ["id", 2**63, 5, False, 2]),
        ("id", ["id", "5", 5, False, 2]),
    ],
)
async def test_tampered_cursors_are_400_not_500(
    client: AsyncTestClient, path: str, sort: str, parts: list[object]
) -> None:
    """A cursor whose key is no value of its column, or whose page or id is out of range, is refused."""
    separator = "&" if "?" in path else "?"
    response = await client.get(f"{path}{separator}sort={sort}&cursor={_cursor(*parts)}")
    body = assert_problem(response, 400, "cursor")
    assert body["errors"][0]["message"] == "is not a cursor this service issued"


async def test_a_prev_link_is_accepted_even_when_rows_moved_before_page_one(
    client: AsyncTestClient, new_product: NewProduct, pool: AsyncConnectionPool
) -> None:
    """When a repricing puts rows before what was page 1, the prev links issued still work (page >= 1)."""
    tag = f"Prevlink {uuid.uuid4().hex[:8]}"
    ids = [(await new_product(name=f"{tag} {n}", price=f"{n}.00")).id for n in (1, 2, 3, 4)]
    params = {"name": tag, "limit": 2, "sort": "price"}
    second = await client.get((await client.get("/products/search", params=params)).json()["links"]["next"])
    async with pool.connection() as conn:
        await conn.execute("UPDATE products SET price = 0.50 WHERE id = %s", (ids[3],))
    first = await client.get(second.json()["links"]["prev"])
    assert first.status_code == 200, first.text
    assert first.json()["meta"]["page"] == 1 and [i["id"] for i in first.json()["items"]] == ids[:2]
    before_first = await client.get(first.json()["links"]["prev"])
    assert before_first.status_code == 200, before_first.text
    assert [i["id"] for i in before_first.json()["items"]] == [ids[3]]
    for link in before_first.json()["links"].values():
        if link is not None:
            assert (await client.get(link)).status_code == 200, link


async def test_links_from_the_last_page_number_are_accepted(
    client: AsyncTestClient, new_product: NewProduct
) -> None:
    """A cursor labelled with the largest page gives links that are all accepted, next included."""
    await new_product()
    await new_product()
    response = await client.get(
        "/products", params={"limit": 1, "cursor": _cursor("id", 1, 1, False, 2**31 - 1)}
    )
    assert response.status_code == 200, response.text
    links = response.json()["links"]
    assert links["next"] is not None
    for link in links.values():
        if link is not None:
            assert (await client.get(link)).status_code == 200, link


@pytest.mark.parametrize(
    ("url", "field"),
    [
        ("/products/1e3", "product_id"),
        ("/products/1.0", "product_id"),
        ("/products/10e-1", "product_id"),
        ("/products/9007199254740993.0", "product_id"),
        ("/products/+1", "product_id"),
        ("/products/%EF%BC%91", "product_id"),
        ("/products?limit=1e1", "limit"),
        ("/products?limit=1.0", "limit"),
        ("/products?limit=%2B10", "limit"),
        ("/products?page=1e2", "page"),
        ("/products?page=2.0", "page"),
        ("/products/search?name=a&page=1e0", "page"),
        ("/products/search?name=a&limit=5e0", "limit"),
    ],
)
async def test_numbers_written_other_than_as_plain_digits_are_400(
    client: AsyncTestClient, new_product: NewProduct, url: str, field: str
) -> None:
    """Ids, pages and limits are plain digits: exponents, points and signs are refused, not rounded."""
    await new_product()
    body = assert_problem(await client.get(url), 400, field)
    assert "plain digits" in body["errors"][0]["message"]


async def test_plain_digits_with_leading_zeros_are_the_number_they_spell(
    client: AsyncTestClient, new_product: NewProduct
) -> None:
    """Leading zeros are still plain digits: 007 is 7."""
    product = await new_product()
    response = await client.get(f"/products/000{product.id}", params={"limit": "005"})
    assert response.status_code == 200 and response.json()["id"] == product.id
