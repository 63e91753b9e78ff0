"""The app answers over real PostgreSQL."""

from litestar.testing import AsyncTestClient

from tests.integration.conftest import NewProduct


async def test_get_product_returns_its_json(client: AsyncTestClient, new_product: NewProduct) -> None:
    """GET /products/{id} returns the stored product with its version as ETag."""
    product = await new_product(price="19.99", stock=3)
    response = await client.get(f"/products/{product.id}")
    assert response.status_code == 200
    assert response.json()["price"] == "19.99"
    assert response.headers["etag"] == f'"{product.version}"'
