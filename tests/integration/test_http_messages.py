"""Problem details say what to do: the allowed sort orders, where the paths are, which precondition failed."""

from __future__ import annotations

from litestar.testing import AsyncTestClient

from tests.integration.conftest import NewProduct
from tests.integration.helpers import assert_problem


async def test_an_unknown_sort_lists_the_allowed_orders(client: AsyncTestClient) -> None:
    """sort=stock is refused naming every order the API takes."""
    body = assert_problem(await client.get("/products", params={"sort": "stock"}), 400, "sort")
    assert body["errors"][0]["message"] == "'stock' is not one of: id, -id, price, -price, name, -name"


async def test_404_and_405_say_more_than_the_reason_phrase(client: AsyncTestClient) -> None:
    """An unknown path points to /docs; a wrong method points to Allow."""
    missing = assert_problem(await client.get("/nowhere"), 404)
    assert missing["detail"] == "nothing is at this path: the API's paths are listed at /docs"
    refused = assert_problem(await client.delete("/products"), 405)
    assert "Allow header" in refused["detail"]


async def test_a_failed_if_none_match_write_does_not_advise_if_match(
    client: AsyncTestClient, new_product: NewProduct
) -> None:
    """A failed If-None-Match says so (no retry advice); a failed If-Match advises a re-read."""
    product = await new_product()
    change = {"price": "2.00", "stock": 2}
    inm = assert_problem(
        await client.put(f"/products/{product.id}", json=change, headers={"If-None-Match": '"1"'}), 412
    )
    assert "If-None-Match names that version" in inm["detail"] and "retry" not in inm["detail"]
    im = assert_problem(
        await client.put(f"/products/{product.id}", json=change, headers={"If-Match": '"7"'}), 412
    )
    assert im["detail"] == 'the product is at version 1; re-read it and retry with If-Match: "1"'
    both = assert_problem(
        await client.put(
            f"/products/{product.id}", json=change, headers={"If-Match": '"1"', "If-None-Match": "*"}
        ),
        412,
    )
    assert "If-None-Match" in both["detail"] and both["current_version"] == 1
