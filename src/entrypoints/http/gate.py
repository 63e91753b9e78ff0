"""The access gate: identify the caller and charge its budget; then, once routed, check its key."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import cast

from litestar.datastructures import MutableScopeHeaders
from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, HTTPScope, Message, Receive, Scope, Send

from adapters.ratelimit import Limiter, Policy
from entrypoints.apikeys import READ, WRITE, KeyRing
from entrypoints.http import ratelimit
from entrypoints.http.auth import SAFE_METHODS, authenticate, authorization_problem, required_scope
from entrypoints.http.client_address import Network, client_address
from entrypoints.http.problems import send_problem

LIMITER_STATE_KEY = "rate_limiter"
"""Where the app's lifespan puts the :class:`Limiter` (None when rate limiting is off)."""
CREDENTIALS_STATE_KEY = "credentials"
"""Where :class:`AccessGate` leaves the request's :class:`Credentials` in the scope's state."""


def _with_headers(send: Send, headers: Sequence[tuple[str, str]]) -> Send:
    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            mutable = MutableScopeHeaders.from_message(message)
            for name, value in headers:
                mutable[name] = value
        await send(message)

    return wrapped


def _bypass(exclude: tuple[str, ...]) -> Callable[[Scope], bool] | None:
    excluded = re.compile("|".join(exclude)) if exclude else None
    if excluded is None:
        return None
    return lambda scope: excluded.match(scope["path"]) is not None


class AccessGate(ASGIMiddleware):
    """Rate limits for every request but the excluded (operational) ones, routed or not.

    It wraps the whole app, outside Litestar's routing, so that requests answered 404 or 405 by the
    router are charged too. The budget is charged before anything else happens, so failed
    authentication attempts spend the caller's budget too. A valid key is the identity; anything
    else is keyed by client address. The credentials found are left in the scope's state for
    :class:`KeyCheck`.

    Args:
        keys: The configured API keys.
        policies: The read and write budgets, or None for no rate limiting.
        trusted_proxies: Peers whose ``X-Forwarded-For`` is believed.
        exclude: Patterns (regular expressions) of request paths the gate leaves alone; anchor them,
            since the path is the client's.
    """

    scopes = (ScopeType.HTTP,)

    def __init__(
        self,
        *,
        keys: KeyRing,
        policies: dict[str, Policy] | None,
        trusted_proxies: tuple[Network, ...] = (),
        exclude: tuple[str, ...] = (),
    ) -> None:
        self.should_bypass_for_scope = _bypass(exclude)
        self._keys = keys
        self._policies = policies
        self._proxies = trusted_proxies

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        """Charge the budget, then refuse (429) or pass the request on with RateLimit fields."""
        method = cast("HTTPScope", scope)["method"]
        credentials = authenticate(scope, self._keys)
        scope["state"][CREDENTIALS_STATE_KEY] = credentials
        limiter: Limiter | None = scope["app"].state.get(LIMITER_STATE_KEY)
        if limiter is not None and self._policies is not None:
            policy = self._policies[READ if method in SAFE_METHODS else WRITE]
            key = credentials.key
            identity = f"key:{key.id}" if key is not None else f"addr:{client_address(scope, self._proxies)}"
            verdict = await limiter.hit(policy, identity)
            send = _with_headers(send, ratelimit.headers(policy, verdict))
            if not verdict.allowed:
                await send_problem(ratelimit.too_many_requests(policy, verdict), scope, receive, send)
                return
        await next_app(scope, receive, send)


class KeyCheck(ASGIMiddleware):
    """API keys on routed requests: 401 or 403 unless the request's key allows the operation.

    It runs after routing, so a method or path that does not exist is answered 405 or 404 whatever
    the key. Credentials come from :class:`AccessGate` when it ran.

    Args:
        keys: The configured API keys.
        reads_need_key: Whether reads need a key with the read scope.
        exclude: Patterns of request paths left alone, as for :class:`AccessGate`.
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
