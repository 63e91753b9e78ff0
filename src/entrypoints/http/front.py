"""The front door: every HTTP request's way in, and the whole path of a product read.

One ASGI layer does, in order, what every request needs: a request id; for all but the operational
paths, the rate-limit charge (before routing, so 404s and 405s are charged too) and the request head's
bounds; then either answers ``GET``/``HEAD /products/{id}`` itself, from the service's cache, with
pre-encoded bytes, or passes the request to Litestar's router. Either way it records the request's
metrics and access-log entry and adds the ``RateLimit`` and ``X-Request-ID`` fields.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, cast

from litestar.datastructures import MutableScopeHeaders
from litestar.enums import ScopeType
from litestar.types import (
    ASGIApp,
    HTTPRequestEvent,
    HTTPResponseBodyEvent,
    HTTPResponseStartEvent,
    HTTPScope,
    Message,
    Receive,
    Scope,
    Send,
)

from adapters.ratelimit import Limiter
from entrypoints.apikeys import READ, WRITE
from entrypoints.http import ratelimit
from entrypoints.http.access import AccessRules
from entrypoints.http.access_log import AccessLog
from entrypoints.http.auth import (
    CREDENTIALS_STATE_KEY,
    SAFE_METHODS,
    Credentials,
    authenticate,
    authorization_problem,
    required_scope,
)
from entrypoints.http.client_address import client_address
from entrypoints.http.input_limits import InputLimits
from entrypoints.http.lingering import RequestBody
from entrypoints.http.methods import allow_field
from entrypoints.http.problems import ApiProblem, domain_problem, internal_problem, send_problem
from entrypoints.http.products import product_answer
from entrypoints.http.request_id import request_id
from entrypoints.http.request_metrics import RequestMetrics
from productcore.errors import ProductcoreError
from productcore.validation import MAX_ID

if TYPE_CHECKING:
    from productcore.service import ProductService


_PRODUCT_PREFIX = "/products/"
_PRODUCT_TEMPLATE = "/products/{product_id}"
_PATH_TEMPLATE = "path_template"
_MAX_ID_DIGITS = len(str(MAX_ID))
_JSON = (b"content-type", b"application/json")
_NO_CACHE = (b"cache-control", b"no-cache")


def _operational(path: str) -> bool:
    """Probes, metrics and API docs: never rate limited or keyed, so an orchestrator, a Prometheus
    scraper or a reader of the docs never spends (or is refused by) a client's product budget."""
    if path.startswith("/health/"):
        return True
    return path == "/metrics" or path == "/docs" or path.startswith("/docs/")


def _product_id(path: str) -> int | None:
    """The id of ``/products/<digits>`` when it is one a product can have, else None."""
    if not path.startswith(_PRODUCT_PREFIX):
        return None
    digits = path[len(_PRODUCT_PREFIX) :]
    if not (digits.isdigit() and digits.isascii()) or len(digits.lstrip("0")) > _MAX_ID_DIGITS:
        return None
    number = int(digits)
    return number if 1 <= number <= MAX_ID else None


class FrontDoor:
    """The ASGI layer in front of Litestar's router (see the module docstring).

    Args:
        app: Litestar's own ASGI handler (exception handling and routing).
        rules: Budgets, keys and proxies.
        limits: Bounds on request heads.
        routes: Path templates and their methods, for ``Allow`` fields.
        metrics: Where request counts and durations are recorded.
        access_log: Where access entries go, or None for none.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        rules: AccessRules,
        limits: InputLimits,
        routes: Mapping[str, frozenset[str]],
        metrics: RequestMetrics,
        access_log: AccessLog | None,
    ) -> None:
        self._app = app
        self._rules = rules
        self._limits = limits
        self._routes = routes
        self._metrics = metrics
        self._log = access_log
        self._addresses: dict[tuple[str | None, bytes | None], str] = {}
        self.service: ProductService | None = None
        self.limiter: Limiter | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer one request (other scopes go straight to Litestar)."""
        if scope["type"] != ScopeType.HTTP:
            await self._app(scope, receive, send)
            return
        started = time.perf_counter()
        rid = request_id(scope)
        fields: list[tuple[bytes, bytes]] = [(b"x-request-id", rid.encode())]
        if _operational(scope["path"]):
            status = await self._delegate(scope, receive, send, fields)
            self._record(scope, rid, status, started, _template(scope))
            return
        credentials = authenticate(scope, self._rules.keys)
        scope["state"][CREDENTIALS_STATE_KEY] = credentials
        if scope["method"] in SAFE_METHODS:
            status, template = await self._answer(scope, receive, send, fields, credentials)
        else:
            body = RequestBody(receive)
            status, template = await self._answer(scope, body, send, fields, credentials)
            await body.drain()
        self._record(scope, rid, status, started, template)

    async def _answer(
        self,
        scope: HTTPScope,
        receive: Receive,
        send: Send,
        fields: list[tuple[bytes, bytes]],
        credentials: Credentials,
    ) -> tuple[int, str]:
        """Charge the budget, check the head, answer; the status and the route it was counted under."""
        method: str = scope["method"]
        policies = self._rules.policies
        if self.limiter is not None and policies is not None:
            policy = policies[READ if method in SAFE_METHODS else WRITE]
            key = credentials.key
            identity = f"key:{key.id}" if key is not None else "addr:" + self._client(scope)
            verdict = await self.limiter.hit(policy, identity)
            fields += ratelimit.fields(policy, verdict)
            if not verdict.allowed:
                return await self._problem(ratelimit.too_many_requests(policy, verdict), scope, send, fields)
        if (problem := self._limits.problem(scope)) is not None:
            return await self._problem(problem, scope, send, fields)
        product_id = _product_id(scope["path"]) if method in ("GET", "HEAD") else None
        if product_id is None or self.service is None:
            return await self._delegate(scope, receive, send, fields), _template(scope)
        return await self._read_product(scope, receive, send, fields, credentials, product_id)

    async def _read_product(
        self,
        scope: HTTPScope,
        receive: Receive,
        send: Send,
        fields: list[tuple[bytes, bytes]],
        credentials: Credentials,
        product_id: int,
    ) -> tuple[int, str]:
        """``GET``/``HEAD /products/{id}`` without the router: the cached bytes, as the handler sends them."""
        assert self.service is not None
        needed = required_scope("GET", reads_need_key=self._rules.reads_need_key)
        if (refusal := authorization_problem(credentials, needed)) is not None:
            return (await self._problem(refusal, scope, send, fields))[0], _PRODUCT_TEMPLATE
        try:
            document = await self.service.get_document(product_id)
            status, headers = product_answer(document, _header(scope, b"if-none-match"))
        except ProductcoreError as error:
            return (await self._problem(domain_problem(error), scope, send, fields))[0], _PRODUCT_TEMPLATE
        except Exception as error:  # a bug: logged with the request id, never shown to the client
            return (await self._problem(internal_problem(error), scope, send, fields))[0], _PRODUCT_TEMPLATE
        body = document.body if status == 200 else b""
        start: list[tuple[bytes, bytes]] = []
        if status == 200:
            start += (_JSON, (b"content-length", str(len(body)).encode()))
        start += headers
        start += fields
        await send(HTTPResponseStartEvent(type="http.response.start", status=status, headers=start))
        body = b"" if scope["method"] == "HEAD" else body
        await send(HTTPResponseBodyEvent(type="http.response.body", body=body, more_body=False))
        return status, _PRODUCT_TEMPLATE

    async def _delegate(
        self, scope: HTTPScope, receive: Receive, send: Send, fields: Sequence[tuple[bytes, bytes]]
    ) -> int:
        """Pass the request to Litestar: HEAD as GET without the body, ``Allow`` completed, fields added."""
        head = scope["method"] == "HEAD"
        routed = cast("HTTPScope", {**scope, "method": "GET"}) if head else scope
        status = 500

        async def answer(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = MutableScopeHeaders.from_message(message)
                allow = headers.get("allow")
                if allow is not None:
                    route = self._routes.get(str(routed.get("path_template", "")), frozenset())
                    headers["allow"] = allow_field([*allow.split(","), *route])
                for name, value in fields:
                    headers.add(name.decode(), value.decode("latin-1"))
            elif head and message["type"] == "http.response.body":
                message = HTTPResponseBodyEvent(type="http.response.body", body=b"", more_body=False)
            await send(message)

        await self._app(routed, receive, answer)
        if head and _PATH_TEMPLATE in routed:
            scope[_PATH_TEMPLATE] = routed[_PATH_TEMPLATE]  # type: ignore[literal-required]
        return status

    async def _problem(
        self, problem: ApiProblem, scope: HTTPScope, send: Send, fields: Sequence[tuple[bytes, bytes]]
    ) -> tuple[int, str]:
        async def answer(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableScopeHeaders.from_message(message)
                for name, value in fields:
                    headers.add(name.decode(), value.decode("latin-1"))
            await send(message)

        await send_problem(problem, scope, _no_body, answer)
        return problem.status_code, "unrouted"

    def _client(self, scope: HTTPScope) -> str:
        """The client's address as the budgets see it, remembered per peer and forwarded-for header."""
        peer = scope.get("client")
        memo_key = (peer[0] if peer else None, _header(scope, b"x-forwarded-for"))
        address = self._addresses.get(memo_key)
        if address is None:
            if len(self._addresses) >= 4096:
                self._addresses.clear()
            address = self._addresses[memo_key] = client_address(scope, self._rules.trusted_proxies)
        return address

    def _record(self, scope: HTTPScope, rid: str, status: int, started: float, template: str) -> None:
        elapsed = time.perf_counter() - started
        method = scope["method"]
        self._metrics.record(method, template, status, elapsed)
        if self._log is not None:
            client = self._client(scope)
            self._log.record(
                (started, client, method, scope["path"], scope["query_string"], status, elapsed, rid)
            )


def _template(scope: HTTPScope) -> str:
    """The route's path template, set by Litestar's router (absent when nothing matched)."""
    return str(scope.get(_PATH_TEMPLATE, "unrouted"))


def _header(scope: HTTPScope, name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value)
    return None


async def _no_body() -> HTTPRequestEvent:
    return HTTPRequestEvent(type="http.request", body=b"", more_body=False)
