"""The access gate: identify the caller, charge its budget, check its key, then let the request in."""

from __future__ import annotations

import re
from collections.abc import Sequence
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


def _with_headers(send: Send, headers: Sequence[tuple[str, str]]) -> Send:
    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            mutable = MutableScopeHeaders.from_message(message)
            for name, value in headers:
                mutable[name] = value
        await send(message)

    return wrapped


class AccessGate(ASGIMiddleware):
    """Rate limits and API keys for every route but the excluded (operational) ones.

    The budget is charged before the key is checked, so failed authentication attempts spend the
    caller's budget too. A valid key is the identity; anything else is keyed by client address.

    Args:
        keys: The configured API keys.
        policies: The read and write budgets, or None for no rate limiting.
        trusted_proxies: Peers whose ``X-Forwarded-For`` is believed.
        reads_need_key: Whether reads need a key with the read scope.
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
        reads_need_key: bool = False,
        exclude: tuple[str, ...] = (),
    ) -> None:
        excluded = re.compile("|".join(exclude)) if exclude else None
        self.should_bypass_for_scope = (
            (lambda scope: excluded.match(scope["path"]) is not None) if excluded is not None else None
        )
        self._keys = keys
        self._policies = policies
        self._proxies = trusted_proxies
        self._reads_need_key = reads_need_key

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        """Charge the budget, then refuse (429, 401, 403) or pass the request on with RateLimit fields."""
        method = cast("HTTPScope", scope)["method"]
        credentials = authenticate(scope, self._keys)
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
        problem = authorization_problem(
            credentials, required_scope(method, reads_need_key=self._reads_need_key)
        )
        if problem is not None:
            await send_problem(problem, scope, receive, send)
            return
        await next_app(scope, receive, send)
