"""What clients are told when Litestar itself refuses a request: its few messages, said in words.

The service checks what clients send by its own rules and in its own words (``productcore.validation``
for prices, stock levels and names; ``entrypoints.json_fields`` for the PUT body; the parameter
decoders of ``entrypoints.http.parameters`` for ids, pages and limits): those messages are shown as
they are. Litestar is left a few checks of its own: a ``sort`` that is not an order, a PUT without
a body, a malformed ``Content-Length``, and the parameter decoders' errors, which it passes on; the
text of any other request it cannot read is never shown. Each is pinned, through the real
library, by ``tests/unit/test_library_messages.py``: an upgrade that rewords one fails that test
instead of reaching clients as "has an invalid value".
"""

from __future__ import annotations

import re

from productcore.model import Sort

_ENUM = re.compile(r"Invalid enum value '(.*)'")
_INTERNAL_TEXT = re.compile(r"`|regex|Expected|Traceback|\bat \$")
"""Marks of a library's message that is not one of ours: never shown to a client."""

BODY_REQUIRED = "is required: send a JSON object with price and stock"
UNKNOWN = "has an invalid value"


def field_problem(location: str | None, key: str, message: str) -> dict[str, str]:
    """One entry of a problem's ``errors``: the field, the message, and where it was (if known)."""
    field = {"field": key, "message": message}
    return field if location is None else {"location": location, **field}


def library_field_problem(location: str | None, key: str, message: str) -> dict[str, str]:
    """Like :func:`field_problem`, for a message that Litestar (or msgspec under it) wrote."""
    if message == f"'{key}'":  # a KeyError's text: Litestar found no value for it
        message = "is required"
    elif (m := _ENUM.fullmatch(message)) is not None:
        message = f"{m[1]!r} is not one of: {', '.join(sort.value for sort in Sort)}"
    elif _INTERNAL_TEXT.search(message):
        message = UNKNOWN
    if key == "data":  # the handler's name for the body
        key, message = "body", BODY_REQUIRED if message == "is required" else message
    return field_problem(location, key, message)


def unreadable_request(detail: str | None) -> dict[str, str]:
    """The ``errors`` entry of a 400 that Litestar raised itself (its own text is not shown)."""
    if detail is not None and detail.startswith("Invalid content-length"):
        return field_problem("header", "Content-Length", "must be the length of the body in bytes, in digits")
    return field_problem("body", "body", "could not be read")
