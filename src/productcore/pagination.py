"""Opaque keyset cursors: what a client echoes back to read the next or previous page."""

from __future__ import annotations

import base64
import binascii
import re

import msgspec

from productcore.errors import FieldError, InvalidQuery
from productcore.model import Cursor, Product, Sort
from productcore.validation import CENT, MAX_ID, MAX_PAGE, name_problem, parse_price

_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(Cursor)
_CURSOR_TEXT = re.compile(r"[A-Za-z0-9_-]{1,512}")


def encode_cursor(cursor: Cursor) -> str:
    """Return the URL-safe text form of a cursor."""
    return base64.urlsafe_b64encode(_encoder.encode(cursor)).rstrip(b"=").decode("ascii")


def decode_cursor(text: str) -> Cursor:
    """Parse a cursor made by :func:`encode_cursor`; anything else is an invalid query.

    A cursor comes back from the client, so every part of it is checked like the value it stands
    for: its key must be a value a product can have in the sorted column (a valid price, a valid
    name, a valid id), and its page a page number a request may ask for.
    """
    if not _CURSOR_TEXT.fullmatch(text):
        raise _bad_cursor()
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        cursor = _decoder.decode(raw)
    except (binascii.Error, ValueError, msgspec.DecodeError):
        raise _bad_cursor() from None
    if not 1 <= cursor.page <= MAX_PAGE or not 1 <= cursor.id <= MAX_ID or not _key_fits(cursor):
        raise _bad_cursor()
    return cursor


def _bad_cursor() -> InvalidQuery:
    return InvalidQuery([FieldError("cursor", "is not a cursor this service issued")])


def _key_fits(cursor: Cursor) -> bool:
    key, column = cursor.key, cursor.sort.column
    if cursor.partial and column != "name":
        return False
    if column == "id":
        return isinstance(key, int) and 1 <= key <= MAX_ID
    if not isinstance(key, str):
        return False
    if column == "price":
        try:
            parse_price(key)
        except ValueError:
            return False
        return True
    return name_problem(key) is None


def sort_key(product: Product, sort: Sort) -> str | int:
    """The value of ``product`` that ``sort`` orders by, in cursor form."""
    column = sort.column
    if column == "id":
        return product.id
    if column == "price":
        return format(product.price.quantize(CENT), "f")  # the text parse_price reads back
    return product.name


MAX_KEY_BYTES = 300
"""Longest sort key a cursor carries whole, as JSON: with the rest it stays within 512 characters."""


def _cut(name: str) -> str:
    """The longest start of ``name`` whose JSON form fits in ``MAX_KEY_BYTES``."""
    size = 0
    for end, char in enumerate(name):
        size += len(_encoder.encode(char)) - 2
        if size > MAX_KEY_BYTES:
            return name[:end]
    return name


def cursor_at(product: Product, sort: Sort, *, before: bool, page: int) -> Cursor:
    """A cursor that reads the page after (or before) ``product``; ``page`` is that page's number.

    Names are carried whole up to ``MAX_KEY_BYTES``; a longer one is cut and marked ``partial``,
    and the database then uses the product's own name (names may be 500 characters of up to 4
    bytes each, which no cursor of at most 512 characters could carry).
    """
    key = sort_key(product, sort)
    if isinstance(key, str) and sort.column == "name" and (cut := _cut(key)) != key:
        return Cursor(sort=sort, key=cut, id=product.id, before=before, page=page, partial=True)
    return Cursor(sort=sort, key=key, id=product.id, before=before, page=page)
