"""A product's fields read strictly from a JSON object: the PUT body and each JSON Lines import row.

msgspec does the JSON: it checks the syntax, reads a JSON number into an exact ``Decimal`` and
refuses ``1.0``, ``1e1``, ``"5"`` and ``true`` for an integer. What is left here is what it cannot
do: tell a string price (text, read by the core's ``parse_price``) from a number, say every bad
member in one answer, and say it in the service's own words.
"""

from __future__ import annotations

import re
from decimal import Decimal

import msgspec

from productcore.errors import FieldError, InvalidInput
from productcore.validation import MAX_STOCK, parse_price, price_problem, stock_problem, whole_number

PRICE_TYPE_PROBLEM = 'must be a decimal string such as "19.99" or a JSON number, at most two decimal places'
STOCK_TYPE_PROBLEM = "must be a whole number written as a JSON integer, such as 5"
TEXT_TYPE_PROBLEM = "must be a string"

_object = msgspec.json.Decoder(dict[str, msgspec.Raw])
_string = msgspec.json.Decoder(str)
_number = msgspec.json.Decoder(Decimal)
_integer = msgspec.json.Decoder(int)
_JSON_INTEGER = re.compile(rb"-?(?:0|[1-9][0-9]*)")


def members(
    document: bytes | str, required: tuple[str, ...], optional: tuple[str, ...] = (), *, whole: str
) -> dict[str, bytes]:
    """The members of the JSON object ``document``, each as the JSON text it was sent as.

    Raises:
        InvalidInput: the document is not a JSON object (named ``whole``), lacks a ``required``
            member, or has a member that is neither required nor ``optional`` (each one named).
    """
    try:
        found = _object.decode(document)
    except msgspec.ValidationError:
        raise InvalidInput([FieldError(whole, f"must be a JSON object with {_listed(required)}")]) from None
    except (msgspec.DecodeError, RecursionError):
        raise InvalidInput([FieldError(whole, "is not valid JSON")]) from None
    errors = [FieldError(name, "is not a known field") for name in found if name not in required + optional]
    errors += [FieldError(name, "is required") for name in required if name not in found]
    if errors:
        raise InvalidInput(errors)
    return {name: bytes(raw) for name, raw in found.items()}


def _listed(names: tuple[str, ...]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def price(raw: bytes) -> Decimal:
    """A price member: a string is read as text by ``parse_price``, a number exactly from its digits.

    Raises:
        ValueError: what is wrong with it.
    """
    if raw[:1] == b'"':
        return parse_price(_string.decode(raw))
    try:
        value = _number.decode(raw)
    except msgspec.ValidationError:
        raise ValueError(PRICE_TYPE_PROBLEM) from None
    if (problem := price_problem(value)) is not None:
        raise ValueError(problem)
    return value


def stock(raw: bytes) -> int:
    """A stock member: a JSON integer only (not a string, fraction, exponent or boolean).

    Raises:
        ValueError: what is wrong with it.
    """
    try:
        value = _integer.decode(raw)
    except msgspec.ValidationError:
        if not _JSON_INTEGER.fullmatch(raw):
            raise ValueError(STOCK_TYPE_PROBLEM) from None
        value = whole_number(raw.decode("ascii"), MAX_STOCK)  # an integer too large for msgspec
    if (problem := stock_problem(value)) is not None:
        raise ValueError(problem)
    return value


def text(raw: bytes) -> str:
    """A string member.

    Raises:
        ValueError: it is not a JSON string.
    """
    try:
        return _string.decode(raw)
    except msgspec.ValidationError:
        raise ValueError(TEXT_TYPE_PROBLEM) from None


def optional_text(raw: bytes) -> str | None:
    """A string member that may be ``null``.

    Raises:
        ValueError: it is neither a JSON string nor null.
    """
    return None if raw == b"null" else text(raw)
