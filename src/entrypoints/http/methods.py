"""HEAD wherever GET is, and ``Allow`` fields naming every method of a path (RFC 9110 §9.3.2, §10.2.1)."""

from __future__ import annotations

from collections.abc import Iterable

from litestar import Litestar
from litestar.routes import HTTPRoute

_ORDER = ("GET", "HEAD", "PUT", "POST", "PATCH", "DELETE", "OPTIONS")


def allow_field(methods: Iterable[str]) -> str:
    """The ``Allow`` value for ``methods``, with HEAD wherever GET is, in a fixed order."""
    allowed = {m.strip().upper() for m in methods if m.strip()}
    if "GET" in allowed:
        allowed.add("HEAD")
    return ", ".join(sorted(allowed, key=lambda m: (_ORDER.index(m) if m in _ORDER else len(_ORDER), m)))


def route_methods(app: Litestar) -> dict[str, frozenset[str]]:
    """Each HTTP route's path template and the methods it has handlers for."""
    return {
        route.path_format: frozenset(route.methods) for route in app.routes if isinstance(route, HTTPRoute)
    }
