"""The ``PUT /products/{id}`` body: JSON only, uncompressed, and read strictly into a price and a stock."""

from __future__ import annotations

import re
from typing import Any

from litestar import Request

from entrypoints import json_fields
from entrypoints.http.messages import BODY_REQUIRED
from entrypoints.http.problems import UNSUPPORTED_MEDIA_TYPE, input_problem, problem
from entrypoints.http.schemas import PriceStockIn
from productcore.errors import FieldError, InvalidInput
from productcore.validation import parsed

_JSON_TYPE = re.compile(r"application/(?:[A-Za-z0-9!#$&^_.+-]+\+)?json", re.IGNORECASE)


async def require_json(request: Request[Any, Any, Any]) -> None:
    """Refuse (415) a body declared as anything but JSON, or not declared, or sent with a content coding.

    Runs before the body is read, so nothing of a refused body is parsed or written.
    """
    content_type = request.headers.get("content-type")
    media_type, *parameters = (content_type or "").split(";")
    charsets = [
        value.strip().strip('"').lower()
        for name, _, value in (p.partition("=") for p in parameters)
        if name.strip().lower() == "charset"
    ]
    if not _JSON_TYPE.fullmatch(media_type.strip()) or any(c != "utf-8" for c in charsets):
        sent = f"Content-Type {content_type!r}" if content_type else "no Content-Type"
        raise problem(
            UNSUPPORTED_MEDIA_TYPE,
            f"the body must be JSON sent as Content-Type: application/json (UTF-8); this request has {sent}",
        )
    codings = [c.strip().lower() for c in ",".join(request.headers.getall("content-encoding", [])).split(",")]
    if any(c not in ("", "identity") for c in codings):
        raise problem(
            UNSUPPORTED_MEDIA_TYPE,
            "the body must be sent uncompressed: this server accepts no Content-Encoding",
            headers={"Accept-Encoding": "identity"},
        )


def read_price_stock(body: bytes) -> PriceStockIn:
    """Read a PUT body strictly: an object of exactly ``price`` and ``stock``.

    A string price is text for the core's ``parse_price``; a number price is read exactly from its
    digits, never rounded through a float. The stock must be a JSON integer. Ranges are checked here
    too (the service checks them again), so that every bad member is named in one answer.

    Raises:
        InvalidInput: naming each bad member (or ``body`` when it is not such an object).
    """
    if not body.strip():
        raise InvalidInput([FieldError("body", BODY_REQUIRED)])
    found = json_fields.members(body, ("price", "stock"), whole="body")
    errors: list[FieldError] = []
    price = parsed(errors, "price", json_fields.price, found["price"])
    stock = parsed(errors, "stock", json_fields.stock, found["stock"])
    if errors or price is None or stock is None:
        raise InvalidInput(errors)
    return PriceStockIn(price=str(price), stock=stock)


class PriceStockRequest(Request[Any, Any, Any]):
    """A request whose JSON body is read by :func:`read_price_stock` instead of Litestar's lax decoder."""

    async def json(self) -> Any:
        """The body as a :class:`PriceStockIn` (Litestar passes it to the handler as it is).

        Raises:
            ApiProblem: a 400 naming each bad member of the body.
        """
        try:
            return read_price_stock(await self.body())
        except InvalidInput as error:
            raise input_problem(error, location="body") from None
