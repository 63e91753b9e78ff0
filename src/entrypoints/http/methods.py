"""HEAD wherever GET is, and ``Allow`` fields naming every method of a path (RFC 9110 §9.3.2, §10.2.1)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from litestar import Litestar
from litestar.datastructures import MutableScopeHeaders
from litestar.enums import ScopeType
from litestar.routes import HTTPRoute
from litestar.types import ASGIApp, HTTPScope, Message, Receive, Scope, Send

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


class MethodSemantics:
    """An ASGI layer around the whole app: answers HEAD as GET without the body, completes ``Allow``.

    Litestar answers only the methods a handler declares, and its automatic OPTIONS handler can name
    fewer methods than the path has (it keeps the list of the first handler registered on the path).
    Here a HEAD request is passed on as a GET (to a copy of the scope, so the server still knows it
    answers a HEAD) and the body of the answer is dropped, so status and headers are the GET's by
    construction; and every ``Allow`` field sent (OPTIONS, 405) is rebuilt from the routed path's
    methods, plus HEAD wherever GET is.

    Args:
        app: The app to wrap (Litestar's ASGI handler).
        routes: Path templates and their methods, from :func:`route_methods`.
    """

    def __init__(self, app: ASGIApp, routes: Mapping[str, frozenset[str]]) -> None:
        self._app = app
        self._routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on, rewriting HEAD to GET and the answer's ``Allow`` and body."""
        if scope["type"] != ScopeType.HTTP:
            await self._app(scope, receive, send)
            return
        head = scope["method"] == "HEAD"
        routed: HTTPScope = {**scope, "method": "GET"} if head else scope

        async def send_answer(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableScopeHeaders.from_message(message)
                allow = headers.get("allow")
                if allow is not None:
                    route = self._routes.get(str(routed.get("path_template", "")), frozenset())
                    headers["allow"] = allow_field([*allow.split(","), *route])
            elif head and message["type"] == "http.response.body":
                message = {**message, "body": b""}
            await send(message)

        await self._app(routed, receive, send_answer)
