"""Who may do what: a bearer API key for every write, and for reads when configured."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from litestar.types import Scope

from entrypoints.apikeys import READ, WRITE, ApiKey, KeyRing
from entrypoints.http.problems import FORBIDDEN, UNAUTHORIZED, ApiProblem, problem
from entrypoints.http.request_id import request_id

log = logging.getLogger("productcore.auth")

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CREDENTIALS_STATE_KEY = "credentials"
"""Where the front door leaves the request's :class:`Credentials` for the key check after routing."""
REALM = 'Bearer realm="productcore"'


@dataclass(frozen=True, slots=True)
class Credentials:
    """What a request proved: ``presented`` a bearer token, and the ``key`` it belongs to if any."""

    presented: bool
    key: ApiKey | None


def _bearer_token(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").strip().partition(" ")
            if scheme.lower() == "bearer":
                return token.strip()
    return None


def authenticate(scope: Scope, keys: KeyRing) -> Credentials:
    """Find the request's bearer token and the configured key it matches (other schemes are ignored)."""
    token = _bearer_token(scope)
    if token is None:
        return Credentials(presented=False, key=None)
    key = keys.verify(token) if token else None
    rid = request_id(scope)
    if key is None:
        log.info("request %s: bearer token rejected", rid)
    else:
        log.debug("request %s: authenticated as API key %s", rid, key.id)
    return Credentials(presented=True, key=key)


def required_scope(method: str, *, reads_need_key: bool) -> str | None:
    """The scope an HTTP method needs, or None when anyone may call it."""
    if method not in SAFE_METHODS:
        return WRITE
    return READ if reads_need_key else None


def authorization_problem(credentials: Credentials, needed: str | None) -> ApiProblem | None:
    """The 401 or 403 problem a request earns, or None when it may proceed.

    A token that matches no key is refused even where none is needed: the client believes it is
    authenticated and should learn that it is not.
    """
    if credentials.presented and credentials.key is None:
        return problem(
            UNAUTHORIZED,
            "the bearer token is not a valid API key for this server",
            headers={"WWW-Authenticate": f'{REALM}, error="invalid_token"'},
        )
    if needed is None:
        return None
    if credentials.key is None:
        return problem(
            UNAUTHORIZED,
            f"this operation needs an API key with the {needed} scope: send Authorization: Bearer <key>",
            headers={"WWW-Authenticate": REALM},
        )
    if not credentials.key.allows(needed):
        return problem(
            FORBIDDEN,
            f"API key {credentials.key.id} lacks the {needed} scope this operation needs",
            headers={"WWW-Authenticate": f'{REALM}, error="insufficient_scope", scope="{needed}"'},
        )
    return None
