"""Messages of Litestar's and msgspec's own checks, said again in plain words for clients."""

from __future__ import annotations

import re
from collections.abc import Callable

from productcore.model import Sort

_TYPE_NAMES = {
    "object": "a JSON object",
    "array": "a JSON array",
    "int": "an integer",
    "str": "a string",
    "float": "a number",
    "bool": "a boolean",
    "null": "null",
    "decimal": "a decimal number",
}
# Litestar's own checks of parameters fail with msgspec's messages, which name Python types and
# show regular expressions: each is said again in words, and whatever is left is said generally.
_PATTERN_MESSAGES = {
    "min_price": "must be a decimal amount such as 19.99 (at most two decimals)",
    "max_price": "must be a decimal amount such as 19.99 (at most two decimals)",
    "name": "must not be blank or contain NUL characters",
    "cursor": "is not a cursor this service issued",
}
_MESSAGES: list[tuple[re.Pattern[str], Callable[[re.Match[str]], str]]] = [
    (
        re.compile(r"Expected `(\w+)`, got `(\w+)`"),
        lambda m: f"must be {_type_name(m[1])}, not {_type_name(m[2])}",
    ),
    (
        re.compile(r"Expected `([\w |]+)`, got `(\w+)`"),
        lambda m: f"must be {' or '.join(_type_name(t) for t in m[1].split(' | '))}, not {_type_name(m[2])}",
    ),
    (re.compile(r"Expected `int` (>=|<=|>|<) (-?\d+)"), lambda m: f"must be an integer {m[1]} {m[2]}"),
    (re.compile(r"Invalid decimal string"), lambda m: "must be a decimal number such as 19.99"),
    (
        re.compile(r"Invalid enum value '(.*)'"),
        lambda m: f"{m[1]!r} is not one of: {', '.join(sort.value for sort in Sort)}",
    ),
    (
        re.compile(r"Expected `str` of length (<=|>=) (\d+)"),
        lambda m: f"must have {'at most' if m[1] == '<=' else 'at least'} {m[2]} characters",
    ),
]
_MISSING = re.compile(r"Object missing required field `(\w+)`")
_UNKNOWN = re.compile(r"Object contains unknown field `(.+)`")
_INTERNAL_TEXT = re.compile(r"`|regex|Expected|Traceback|\bat \$")
"""Marks of a library's message that was not rewritten: never shown to a client."""


def _type_name(name: str) -> str:
    return _TYPE_NAMES.get(name, "a value of another type")


def _message(key: str, message: str) -> str:
    if message.startswith("Expected `str` matching regex"):
        return _PATTERN_MESSAGES.get(key, "is not in the expected format")
    if message == f"'{key}'":  # a KeyError's text: Litestar found no value for it
        return "is required"
    for pattern, render in _MESSAGES:
        if (m := pattern.search(message)) is not None:
            return render(m)
    return "has an invalid value" if _INTERNAL_TEXT.search(message) else message


def field_problem(location: str | None, key: str, message: str) -> dict[str, str]:
    """One entry of a problem's ``errors``: the field, a plain message, and where it was (if known)."""
    if (m := _MISSING.search(message)) is not None:
        key, message = m[1], "is required"
    elif (m := _UNKNOWN.search(message)) is not None:
        key, message = m[1], "is not a known field"
    else:
        message = _message(key, message)
    if key == "data":
        key = "body"
        if message == "is required":
            message = "is required: send a JSON object with price and stock"
    field = {"field": key, "message": message}
    return field if location is None else {"location": location, **field}
