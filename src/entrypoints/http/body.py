"""The ``PUT /products/{id}`` body: JSON only, uncompressed, and read strictly into a price and a stock."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import msgspec
from litestar import Request
from litestar.exceptions import ValidationException

from entrypoints.http.problems import UNSUPPORTED_MEDIA_TYPE, problem
from entrypoints.http.schemas import PriceStockIn, amount_problem
from productcore.validation import MAX_STOCK, price_problem, stock_problem

_JSON_TYPE = re.compile(r"application/(?:[A-Za-z0-9!#$&^_.+-]+\+)?json", re.IGNORECASE)
_INTEGER = re.compile(rb"-?(?:0|[1-9][0-9]*)")
_NUMBER_START = b"-0123456789"
PRICE_TYPE_PROBLEM = 'must be a decimal string such as "19.99" or a JSON number, at most two decimal places'
STOCK_TYPE_PROBLEM = "must be a whole number written as a JSON integer, such as 5"


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


class _Members(msgspec.Struct, forbid_unknown_fields=True):
    """The members of a body, as the JSON text each was sent as."""

    price: msgspec.Raw
    stock: msgspec.Raw


_members = msgspec.json.Decoder(_Members)
_text = msgspec.json.Decoder(str)


def _refused(*errors: tuple[str, str]) -> ValidationException:
    extra = [{"key": field, "message": message, "source": "body"} for field, message in errors]
    return ValidationException(detail="the body is not a valid price and stock", extra=extra)


def _price(raw: bytes) -> tuple[str | None, str | None]:
    """The price's exact decimal text, or what is wrong with it."""
    if raw[:1] == b'"':
        text = _text.decode(raw)
        problem_ = amount_problem(text)
    elif raw and raw[0] in _NUMBER_START:  # a JSON number: msgspec has checked its syntax
        text = raw.decode("ascii")
        problem_ = price_problem(Decimal(text))
    else:
        return None, PRICE_TYPE_PROBLEM
    return (text, None) if problem_ is None else (None, problem_)


def _stock(raw: bytes) -> tuple[int | None, str | None]:
    """The stock as an integer, or what is wrong with it: only a JSON integer is a stock level."""
    if not _INTEGER.fullmatch(raw):
        return None, STOCK_TYPE_PROBLEM
    stock = int(raw) if len(raw) <= len(str(MAX_STOCK)) + 1 else None  # else far out of range
    problem_ = stock_problem(stock if stock is not None else -1 if raw.startswith(b"-") else MAX_STOCK + 1)
    return (stock, None) if problem_ is None else (None, problem_)


def read_price_stock(body: bytes) -> PriceStockIn:
    """Read a PUT body strictly: an object of exactly ``price`` and ``stock``.

    A string price must be plain digits with at most two decimals; a JSON number price is kept as
    the text it was sent as, so it is never rounded through a float. The stock must be a JSON
    integer: not a string, a fraction, an exponent or a boolean. Ranges are checked here too (the
    service checks them again), so that every bad member is named in one answer.

    Raises:
        ValidationException: naming each bad member (or ``body`` when it is not such an object).
    """
    try:
        members = _members.decode(body)
    except msgspec.ValidationError as error:
        message = str(error)  # a missing or unknown member is named by the problem mapping
        if message.startswith("Expected"):
            message = "must be a JSON object with price and stock"
        raise _refused(("body", message)) from None
    except (msgspec.DecodeError, RecursionError):
        raise _refused(("body", "is not valid JSON")) from None
    price, price_problem = _price(bytes(members.price))
    stock, stock_problem_ = _stock(bytes(members.stock))
    errors = [(f, p) for f, p in (("price", price_problem), ("stock", stock_problem_)) if p is not None]
    if errors or price is None or stock is None:
        raise _refused(*errors)
    return PriceStockIn(price=price, stock=stock)


class PriceStockRequest(Request[Any, Any, Any]):
    """A request whose JSON body is read by :func:`read_price_stock` instead of Litestar's lax decoder."""

    async def json(self) -> Any:
        """The body as a :class:`PriceStockIn` (Litestar passes it to the handler as it is)."""
        return read_price_stock(await self.body())
