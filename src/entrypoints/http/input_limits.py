"""Refuse bad request heads early: 431 for large headers, 414 for a long query, 400 for one not UTF-8."""

from __future__ import annotations

from urllib.parse import unquote_to_bytes

from litestar.types import Scope

from entrypoints.http.problems import (
    DOMAIN_PROBLEMS,
    HEADERS_TOO_LARGE,
    QUERY_TOO_LONG,
    ApiProblem,
    problem,
)
from productcore.errors import InvalidInput

BAD_REQUEST = DOMAIN_PROBLEMS[InvalidInput]


class InputLimits:
    """Bounds on what a request head may carry (the body limit is Litestar's ``request_max_body_size``).

    The server in front (granian, a proxy) has its own, larger bounds; these give a problem response
    instead of a bare connection error.

    Args:
        max_header_bytes: Largest total of header names and values, counted as sent on the wire.
        max_query_bytes: Longest query string, in bytes as sent (percent-encoded).
    """

    def __init__(self, *, max_header_bytes: int, max_query_bytes: int) -> None:
        self._max_header_bytes = max_header_bytes
        self._max_query_bytes = max_query_bytes

    def problem(self, scope: Scope) -> ApiProblem | None:
        """The 431, 414 or 400 problem a request head earns, or None when it is within bounds."""
        header_bytes = 0
        for name, value in scope["headers"]:
            header_bytes += len(name) + len(value) + 4
        if header_bytes > self._max_header_bytes:
            return problem(
                HEADERS_TOO_LARGE,
                f"the request headers take {header_bytes} bytes; this server accepts at most "
                f"{self._max_header_bytes}",
            )
        query: bytes = scope["query_string"]
        if not query:
            return None
        if len(query) > self._max_query_bytes:
            return problem(
                QUERY_TOO_LONG,
                f"the query string has {len(query)} bytes; this server accepts at most "
                f"{self._max_query_bytes}",
            )
        if (field := _not_utf8(query)) is not None:
            message = "is not UTF-8 once percent-decoded"
            return problem(
                BAD_REQUEST,
                f"{field}: {message}",
                errors=[{"location": "query", "field": field, "message": message}],
            )
        return None


def _not_utf8(query: bytes) -> str | None:
    """The first query parameter whose name or value is not UTF-8 (``query`` if its name is not), or None."""
    for pair in query.split(b"&"):
        name, _, value = pair.partition(b"=")
        try:
            decoded_name = unquote_to_bytes(name.replace(b"+", b" ")).decode("utf-8")
        except UnicodeDecodeError:
            return "query"
        try:
            unquote_to_bytes(value.replace(b"+", b" ")).decode("utf-8")
        except UnicodeDecodeError:
            return decoded_name or "query"
    return None
