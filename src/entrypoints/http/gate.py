"""The API key check on routed requests (the front door identified the caller and charged its budget)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import cast

from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, HTTPScope, Receive, Scope, Send

from entrypoints.apikeys import KeyRing
from entrypoints.http.auth import CREDENTIALS_STATE_KEY, authenticate, authorization_problem, required_scope
from entrypoints.http.problems import send_problem


def _bypass(exclude: tuple[str, ...]) -> Callable[[Scope], bool] | None:
    excluded = re.compile("|".join(exclude)) if exclude else None
    if excluded is None:
        return None
    return lambda scope: excluded.match(scope["path"]) is not None


class KeyCheck(ASGIMiddleware):
    """API keys on routed requests: 401 or 403 unless the request's key allows the operation.

    It runs after routing, so a method or path that does not exist is answered 405 or 404 whatever
    the key. Credentials come from the front door when it ran.

    Args:
        keys: The configured API keys.
        reads_need_key: Whether reads need a key with the read scope.
        exclude: Patterns (anchored regular expressions) of request paths left alone.
    """

    scopes = (ScopeType.HTTP,)

    def __init__(self, *, keys: KeyRing, reads_need_key: bool = False, exclude: tuple[str, ...] = ()) -> None:
        self.should_bypass_for_scope = _bypass(exclude)
        self._keys = keys
        self._reads_need_key = reads_need_key

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        """Refuse with 401 or 403, or pass the request on."""
        credentials = scope["state"].get(CREDENTIALS_STATE_KEY) or authenticate(scope, self._keys)
        method = cast("HTTPScope", scope)["method"]
        problem = authorization_problem(
            credentials, required_scope(method, reads_need_key=self._reads_need_key)
        )
        if problem is not None:
            await send_problem(problem, scope, receive, send)
            return
        await next_app(scope, receive, send)
