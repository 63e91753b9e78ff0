"""Pages sorted by name can be walked whatever the names' length: cursors stay within 512 characters."""

from __future__ import annotations

import uuid

from litestar.testing import AsyncTestClient

from tests.integration.conftest import NewProduct


async def test_name_sorted_pages_of_the_longest_names_can_be_walked_both_ways(
    client: AsyncTestClient, new_product: NewProduct
) -> None:
    """Products with 500-character names (ASCII, and 4-byte characters): following ``next`` visits
    each once in name order, and ``prev`` walks back; every link's cursor fits the 512 limit."""
    token = uuid.uuid4().hex[:10]
    names = [
        f"{token} {'a' * 480} {i}".ljust(500, "x") if i % 2 else f"{token} {i} " + "\U0001f600" * 486
        for i in range(5)
    ]
    created = {(await new_product(name=name)).id: name for name in names}
    expected = [pid for pid, _ in sorted(created.items(), key=lambda item: (item[1], item[0]))]
    body = (await client.get("/products/search", params={"name": token, "sort": "name", "limit": 2})).json()
    seen = [item["id"] for item in body["items"]]
    links = []
    while body["links"]["next"]:
        links.append(body["links"]["next"])
        response = await client.get(body["links"]["next"])
        assert response.status_code == 200, response.text
        body = response.json()
        seen += [item["id"] for item in body["items"]]
    last_page = len(body["items"])
    back = []
    while body["links"]["prev"]:
        links.append(body["links"]["prev"])
        response = await client.get(body["links"]["prev"])
        assert response.status_code == 200, response.text
        body = response.json()
        back = [item["id"] for item in body["items"]] + back
    longest = max(len(link.split("cursor=")[1].split("&")[0]) for link in links)
    print(f"\n500-character names: longest cursor {longest} characters")
    assert seen == expected
    assert back == expected[: len(expected) - last_page]
    assert longest <= 512
