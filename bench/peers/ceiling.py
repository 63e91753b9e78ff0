"""HTTP ceiling: a bare Litestar handler that returns one fixed product body (no cache, no database)."""

from litestar import Litestar, MediaType, get

BODY = (  # 300 bytes, a seeded product with the longest of the demo descriptions
    b'{"id":123456,"name":"Copperfield Rechargeable Aluminium Coffee Grinder U2-CE1RN",'
    b'"description":"Coffee Grinder by Copperfield, made from responsibly sourced materials.",'
    b'"price":"19.38","stock":120,"version":1,'
    b'"created_at":"2026-11-25T21:00:29.869781Z","updated_at":"2026-11-25T21:00:29.869781Z"}'
)


@get("/products/{product_id:int}", media_type=MediaType.JSON)
async def product(product_id: int) -> bytes:
    """The same product, whatever the id."""
    return BODY


app = Litestar([product], openapi_config=None)
