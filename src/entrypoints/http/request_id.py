"""A request id on every request and response: the caller's ``X-Request-ID`` if sane, else a new one."""

from __future__ import annotations

import re
import uuid

from litestar.datastructures import MutableScopeHeaders
from litestar.types import Message, Scope

HEADER = "x-request-id"
_ACCEPTABLE = re.compile(r"[A-Za-z0-9._:-]{1,128}")


def request_id(scope: Scope) -> str:
    """Return this request's id, choosing it on first use."""
    state = scope.setdefault("state", {})
    current = state.get("request_id")
    if current is None:
        incoming = next((v for k, v in scope.get("headers", ()) if k == HEADER.encode()), b"")
        text = incoming.decode("latin-1")
        current = text if _ACCEPTABLE.fullmatch(text) else uuid.uuid4().hex
        state["request_id"] = current
    return str(current)


async def add_request_id(message: Message, scope: Scope) -> None:
    """``before_send`` hook: put the request id on the response headers."""
    if message["type"] == "http.response.start":
        MutableScopeHeaders.from_message(message)[HEADER] = request_id(scope)
