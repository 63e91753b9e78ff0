"""HTTP ceiling: a bare Litestar handler that returns one fixed product body (no cache, no database)."""

from litestar import Litestar, MediaType, get

BODY = (
    b'{"id":1,"name":"Vantage Ergonomic Canvas Chair U2-CE1RN",'
    b'"description":"Chair by Vantage, designed for everyday use.","price":"19.38","stock":0,'
    b'"version":1,"created_at":"2026-11-25T21:00:29.869781Z","updated_at":"2026-11-25T21:00:29.869781Z"}'
)


@get("/products/{product_id:int}", media_type=MediaType.JSON)
async def product(product_id: int) -> bytes:
    """The same product, whatever the id."""
    return BODY


app = Litestar([product], openapi_config=None)
