"""Every error becomes an RFC 9457 problem response; domain errors are mapped here, in one table."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.openapi.datastructures import ResponseSpec
from litestar.plugins.problem_details import (
    ProblemDetailsConfig,
    ProblemDetailsException,
    ProblemDetailsPlugin,
)
from litestar.types import Receive, Scope, Send

from entrypoints.http.messages import field_problem, library_field_problem, unreadable_request
from entrypoints.http.request_id import request_id
from entrypoints.http.schemas import Problem
from productcore.errors import (
    InvalidInput,
    ProductcoreError,
    ProductNotFound,
    ServiceUnavailable,
    VersionConflict,
)

log = logging.getLogger("productcore.http")

PROBLEM_BASE = "urn:productcore:problem:"
PROBLEM_MEDIA_TYPE = "application/problem+json"


@dataclass(frozen=True, slots=True)
class ProblemKind:
    """How one class of domain error appears over HTTP."""

    status: int
    slug: str
    title: str


DOMAIN_PROBLEMS: dict[type[ProductcoreError], ProblemKind] = {
    ProductNotFound: ProblemKind(404, "product-not-found", "Product not found"),
    InvalidInput: ProblemKind(400, "invalid-request", "Invalid request"),
    VersionConflict: ProblemKind(412, "version-mismatch", "Precondition failed"),
    ServiceUnavailable: ProblemKind(503, "service-unavailable", "Service unavailable"),
}

_INTERNAL = ProblemKind(500, "internal-error", "Internal server error")

# Where the fields the core names come from in a request; the rest are query parameters, but for
# "request": a value the database refused, which the request as a whole carried.
_LOCATIONS: dict[str, str | None] = {
    "product_id": "path",
    "price": "body",
    "stock": "body",
    "If-Match": "header",
    "If-None-Match": "header",
    "request": None,
}


class ApiProblem(ProblemDetailsException):
    """A problem details exception that also carries the request id and the request path."""

    def to_response(self, request: Request[Any, Any, Any]) -> Response[dict[str, Any]]:
        """Render as ``application/problem+json``."""
        rid = request_id(request.scope)
        if self.status_code >= 500 and self.__cause__ is not None:
            log.error("request %s failed", rid, exc_info=self.__cause__)
        self.instance = self.instance or request.url.path
        extra = dict(self.extra) if isinstance(self.extra, dict) else {}
        self.extra = {**extra, "request_id": rid}
        self.headers = {**(self.headers or {}), "Cache-Control": "no-store"}
        return super().to_response(request)


def _problem(
    kind: ProblemKind, detail: str, *, headers: dict[str, str] | None = None, **extra: Any
) -> ApiProblem:
    return ApiProblem(
        detail=detail,
        status_code=kind.status,
        type_=PROBLEM_BASE + kind.slug,
        title=kind.title,
        extra=extra or None,
        headers=headers,
    )


def domain_problem(error: ProductcoreError) -> ApiProblem:
    """Map a domain error to its problem, by the nearest class in ``DOMAIN_PROBLEMS``."""
    kind = next((DOMAIN_PROBLEMS[c] for c in type(error).__mro__ if c in DOMAIN_PROBLEMS), _INTERNAL)
    if kind is _INTERNAL:
        problem = _problem(kind, "the server could not complete the request")
    elif isinstance(error, InvalidInput):
        problem = input_problem(error)
    elif isinstance(error, VersionConflict):
        problem = version_problem(error)
    elif isinstance(error, ServiceUnavailable):
        problem = _problem(kind, error.reason, headers={"Retry-After": "1"})
    else:
        problem = _problem(kind, str(error))
    problem.__cause__ = error if kind is _INTERNAL else None
    return problem


def input_problem(error: InvalidInput, location: str | None = None) -> ApiProblem:
    """The 400 of invalid input: each field with its message, found in ``location`` (else by its name)."""
    errors = [
        field_problem(location or _LOCATIONS.get(e.field, "query"), e.field, e.message) for e in error.errors
    ]
    return _problem(DOMAIN_PROBLEMS[InvalidInput], str(error), errors=errors)


def version_problem(error: VersionConflict, header: str = "If-Match") -> ApiProblem:
    """The 412 of a write whose ``header`` (``If-Match`` or ``If-None-Match``) did not hold."""
    if header == "If-Match":
        advice = f're-read it and retry with If-Match: "{error.current}"'
    else:
        advice = "If-None-Match names that version (or is *), so nothing was written"
    return _problem(
        DOMAIN_PROBLEMS[VersionConflict],
        f"the product is at version {error.current}; {advice}",
        current_version=error.current,
        headers={"ETag": f'"{error.current}"'},
    )


def _source(source: object) -> str:
    """Litestar names the part of the request as a ``ParamType`` enum, or not at all for bodies."""
    return str(getattr(source, "value", source or "body"))


def validation_problem(error: ValidationException) -> ApiProblem:
    """Map Litestar's request validation errors (query, path, header, body) to one problem."""
    kind = DOMAIN_PROBLEMS[InvalidInput]
    extra = error.extra if isinstance(error.extra, list) else []
    errors = [
        library_field_problem(_source(e.get("source")), str(e.get("key", "")), str(e.get("message", "")))
        for e in extra
    ]
    if not errors:
        return _problem(kind, error.detail or "the request is malformed")
    detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
    return _problem(kind, detail, errors=errors)


HTTP_PROBLEMS: dict[int, ProblemKind] = {
    404: ProblemKind(404, "not-found", "Not Found"),
    405: ProblemKind(405, "method-not-allowed", "Method Not Allowed"),
    413: ProblemKind(413, "body-too-large", "Content Too Large"),
    428: ProblemKind(428, "if-match-required", "Precondition Required"),
}
"""Problems of errors Litestar (or a handler, as an ``HTTPException``) raises, by status."""

_HTTP_DETAILS = {
    404: "nothing is at this path: the API's paths are listed at /docs",
    405: "this path does not take this method: the Allow header lists those it takes",
}
"""What to say instead of Litestar's bare reason phrase ("Not Found", "Method Not Allowed")."""


def http_problem(error: HTTPException) -> ApiProblem:
    """Map Litestar's own HTTP errors (unreadable body, unknown route, wrong method, body too large...)."""
    if error.status_code == 400:
        field = unreadable_request(error.detail)
        detail = f"{field['field']}: {field['message']}"
        return _problem(DOMAIN_PROBLEMS[InvalidInput], detail, errors=[field])
    status = HTTPStatus(error.status_code)
    kind = HTTP_PROBLEMS.get(
        status, ProblemKind(status, status.phrase.lower().replace(" ", "-"), status.phrase)
    )
    detail = error.detail if error.detail and error.detail != status.phrase else ""
    detail = detail or _HTTP_DETAILS.get(status, status.phrase)
    return _problem(kind, detail, headers=error.headers or None)


def internal_problem(error: Exception) -> ApiProblem:
    """Anything unexpected: log it, tell the client nothing about it but the request id."""
    problem = _problem(
        _INTERNAL, "the server could not complete the request; quote the request id if you report it"
    )
    problem.__cause__ = error
    return problem


_DESCRIPTIONS = {
    400: "Invalid request: see `errors` for each bad field",
    404: "No product has this id",
    412: "If-Match does not name the current version, or If-None-Match does (`current_version` is it)",
    428: "This server requires If-Match with an ETag (not `*`) on writes",
    503: "The database cannot be reached right now; retry after Retry-After seconds",
    401: "No API key, or one this server does not know: send `Authorization: Bearer <key>`",
    403: "The API key lacks the scope this operation needs",
    413: "The request body is larger than this server accepts",
    415: "The body is not declared as JSON (Content-Type: application/json), or is compressed",
    414: "The query string is longer than this server accepts",
    429: "This client's budget is spent: see the RateLimit header and retry after Retry-After seconds",
    431: "The request headers are larger than this server accepts",
}


def problems(*statuses: int) -> dict[int, ResponseSpec]:
    """OpenAPI response entries for the problem statuses a handler can answer with."""
    return {
        status: ResponseSpec(
            data_container=Problem,
            media_type=PROBLEM_MEDIA_TYPE,
            description=_DESCRIPTIONS[status],
            generate_examples=False,
        )
        for status in statuses
    }


def problem_details_plugin() -> ProblemDetailsPlugin:
    """Litestar's problem details plugin, configured with this module's mappings."""
    return ProblemDetailsPlugin(
        ProblemDetailsConfig(
            exception_to_problem_detail_map={
                ProductcoreError: domain_problem,
                ValidationException: validation_problem,
                HTTPException: http_problem,
                Exception: internal_problem,
            }
        )
    )


UNAUTHORIZED = ProblemKind(401, "unauthorized", "Unauthorized")
FORBIDDEN = ProblemKind(403, "insufficient-scope", "Forbidden")
RATE_LIMITED = ProblemKind(429, "rate-limited", "Too many requests")
QUERY_TOO_LONG = ProblemKind(414, "query-too-long", "URI too long")
UNSUPPORTED_MEDIA_TYPE = ProblemKind(415, "unsupported-media-type", "Unsupported media type")
HEADERS_TOO_LARGE = ProblemKind(431, "headers-too-large", "Request header fields too large")

READ_PROBLEMS = (401, 414, 429, 431)
"""Statuses the access gate and input limits can answer any read with."""
WRITE_PROBLEMS = (401, 403, 413, 414, 415, 429, 431)
"""Statuses the access gate, body checks and input limits can answer any write with."""


def problem(
    kind: ProblemKind, detail: str, *, headers: dict[str, str] | None = None, **extra: Any
) -> ApiProblem:
    """A problem of ``kind`` for errors raised outside the domain (access, limits, body checks)."""
    return _problem(kind, detail, headers=headers, **extra)


async def send_problem(error: ApiProblem, scope: Scope, receive: Receive, send: Send) -> None:
    """Answer from a middleware with a problem response, as the exception handlers would."""
    request: Request[Any, Any, Any] = Request(scope, receive, send)
    response = error.to_response(request)
    await response.to_asgi_response(app=None, request=request)(scope, receive, send)
