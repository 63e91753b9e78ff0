"""Opaque keyset cursors: what a client echoes back to read the next or previous page."""

from __future__ import annotations

import base64
import binascii
from decimal import Decimal, InvalidOperation

import msgspec

from productcore.errors import FieldError, InvalidQuery
from productcore.model import Cursor, Product, Sort

_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(Cursor)


def encode_cursor(cursor: Cursor) -> str:
    """Return the URL-safe text form of a cursor."""
    return base64.urlsafe_b64encode(_encoder.encode(cursor)).rstrip(b"=").decode("ascii")


def decode_cursor(text: str) -> Cursor:
    """Parse a cursor made by :func:`encode_cursor`; anything else is an invalid query."""
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        cursor = _decoder.decode(raw)
    except (binascii.Error, ValueError, msgspec.DecodeError):
        raise InvalidQuery([FieldError("cursor", "is not a cursor this service issued")]) from None
    if cursor.page < 1 or cursor.id < 1 or not _key_fits(cursor):
        raise InvalidQuery([FieldError("cursor", "is not a cursor this service issued")])
    return cursor


def _key_fits(cursor: Cursor) -> bool:
    column = cursor.sort.column
    if column == "id":
        return isinstance(cursor.key, int)
    if column == "price":
        try:
            return isinstance(cursor.key, str) and Decimal(cursor.key).is_finite()
        except InvalidOperation:
            return False
    return isinstance(cursor.key, str)


def sort_key(product: Product, sort: Sort) -> str | int:
    """The value of ``product`` that ``sort`` orders by, in cursor form."""
    column = sort.column
    if column == "id":
        return product.id
    if column == "price":
        return str(product.price)
    return product.name


def cursor_at(product: Product, sort: Sort, *, before: bool, page: int) -> Cursor:
    """A cursor that reads the page after (or before) ``product``; ``page`` is that page's number."""
    return Cursor(sort=sort, key=sort_key(product, sort), id=product.id, before=before, page=page)
