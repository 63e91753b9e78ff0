"""The OpenAPI document as the whole contract: what Litestar cannot derive from the handlers.

Litestar writes paths, parameters, bodies and statuses from the handlers. This module adds, once per
app, what the front door, the access gate and the conditional headers do around them: ``If-Match`` and
``If-None-Match``, the 304, the response headers of every status (``ETag``, ``Cache-Control``,
``Retry-After``, ``WWW-Authenticate``, the ``RateLimit`` fields, ``X-Request-ID``), ``/health/ready``'s
503, links between operations, and fixed, realistic examples. Every map it writes is built in a fixed
order, so every process serves the same bytes.
"""

from __future__ import annotations

from typing import Any

from litestar.openapi.spec import (
    Components,
    Link,
    OpenAPI,
    OpenAPIHeader,
    OpenAPIMediaType,
    OpenAPIResponse,
    OpenAPIType,
    Operation,
    Parameter,
    Reference,
    Schema,
)

from entrypoints.http.contract_examples import EXAMPLES, HEALTH_REPORT
from entrypoints.http.freshness import PRODUCT

CHARGED = ("listProducts", "searchProducts", "getProduct", "updateProduct")
"""Operations charged to a rate-limit budget: every answer of theirs has the RateLimit fields."""
PRODUCT_DOCUMENT = ("getProduct", "updateProduct")

_TAG = r'(W/)?"[\x21\x23-\x7e\x80-\xff]*"'
ENTITY_TAGS = rf"^([ \t,]*{_TAG}([ \t]*,[ \t,]*{_TAG})*[ \t,]*|[ \t]*\*[ \t]*|[ \t]*)$"
"""``*`` or a list of entity tags (RFC 9110 §13.1.1), as the server reads it (blank: not sent)."""


def _header(description: str, schema: dict[str, Any], *, required: bool = True) -> OpenAPIHeader:
    return OpenAPIHeader(description=description, required=required, schema=Schema(**schema))


HEADERS: dict[str, OpenAPIHeader] = {
    "Cache-Control": _header(
        "`no-cache` for a product (keep it, revalidate with its ETag), `no-store` for everything else",
        {"type": "string", "enum": ["no-cache", "no-store"]},
    ),
    "ETag": _header(
        "The product's version as a strong entity tag",
        {"type": "string", "pattern": '^"[1-9][0-9]*"$', "examples": ['"3"']},
    ),
    "RateLimit": _header(
        "What is left of the budget: remaining requests and seconds until it has room again "
        "(draft-ietf-httpapi-ratelimit-headers); absent when rate limiting is off",
        {"type": "string", "examples": ['"read";r=57;t=41']},
        required=False,
    ),
    "RateLimit-Policy": _header(
        "The budget this request counts against: quota per window in seconds; absent when rate "
        "limiting is off",
        {"type": "string", "examples": ['"read";q=100;w=60']},
        required=False,
    ),
    "Retry-After": _header("Seconds to wait before retrying", {"type": "integer", "minimum": 1}),
    "Vary": _header("The answer depends on Accept-Encoding (gzip from 1 KiB)", {"type": "string"}),
    "WWW-Authenticate": _header(
        "The Bearer challenge (RFC 6750), with `error` when a key was sent",
        {"type": "string", "examples": ['Bearer realm="productcore", error="invalid_token"']},
    ),
    "X-Request-ID": _header(
        "The request's id (yours, if you sent a sane one); quote it when reporting a problem",
        {"type": "string", "examples": ["7f3c2a9e1b4d4c0e8a6f5d2c1b0a9e8d"]},
    ),
}

CONDITIONS: dict[str, Parameter] = {
    "If-Match": Parameter(
        name="If-Match",
        param_in="header",
        description='Write only if the product is at one of these versions, e.g. `"3"` (its ETag; '
        "strong comparison): else 412. `*`: only if it exists. Required (428) when the server sets "
        "PRODUCTCORE_REQUIRE_IF_MATCH.",
        schema=Schema(type=OpenAPIType.STRING, pattern=ENTITY_TAGS, examples=['"3"']),
    ),
    "If-None-Match": Parameter(
        name="If-None-Match",
        param_in="header",
        description='The ETags you hold, e.g. `"3"`: a read answers 304 when one is the current '
        "version (weak comparison); a write fails with 412 when one is, or on `*`.",
        schema=Schema(type=OpenAPIType.STRING, pattern=ENTITY_TAGS, examples=['"3"']),
    ),
}


def _ref(name: str) -> Reference:
    return Reference(ref=f"#/components/headers/{name}")


def _headers(operation_id: str, status: int) -> dict[str, OpenAPIHeader | Reference]:
    """The fields an answer of ``operation_id`` with ``status`` carries, in name order."""
    names = ["Cache-Control", "X-Request-ID"]
    if operation_id in CHARGED:
        names += ["RateLimit", "RateLimit-Policy"]
    if (operation_id in PRODUCT_DOCUMENT and status in (200, 304)) or status == 412:
        names.append("ETag")
    if status in (429, 503) and operation_id != "ready":
        names.append("Retry-After")
    if status in (401, 403):
        names.append("WWW-Authenticate")
    if operation_id in ("listProducts", "searchProducts") and status == 200:
        names.append("Vary")
    headers: dict[str, OpenAPIHeader | Reference] = {name: _ref(name) for name in sorted(names)}
    if operation_id in PRODUCT_DOCUMENT and status in (200, 304):
        headers["Cache-Control"] = _header(
            "A cache may keep the product but must revalidate it (If-None-Match) before each use",
            {"type": "string", "const": PRODUCT},
        )
    return headers


_ITEM = "$response.body#/items/0/id"
_SAME = "$request.path.product_id"
_ETAG = "$response.header.ETag"
LINKS: dict[str, dict[str, Link]] = {
    "listProducts": {
        "getProduct": Link(operation_id="getProduct", parameters={"product_id": _ITEM}),
        "updateProduct": Link(operation_id="updateProduct", parameters={"product_id": _ITEM}),
    },
    "getProduct": {
        "revalidate": Link(
            operation_id="getProduct",
            parameters={"product_id": _SAME, "header.If-None-Match": _ETAG},
            description="Read again; 304 while the product is unchanged",
        ),
        "updateProduct": Link(
            operation_id="updateProduct",
            parameters={"product_id": _SAME, "header.If-Match": _ETAG},
            description="Change the version just read, and only that one",
        ),
    },
    "updateProduct": {
        "getProduct": Link(
            operation_id="getProduct",
            parameters={"product_id": _SAME, "header.If-None-Match": _ETAG},
            description="Read back: 304 while no one else has changed it",
        ),
    },
}
"""OpenAPI links, for clients and stateful tools: from a page to its first product, a read to a write."""
LINKS["searchProducts"] = LINKS["listProducts"]


def _not_modified(operation_id: str) -> OpenAPIResponse:
    return OpenAPIResponse(
        description="Not Modified: If-None-Match names the current version (no body)",
        headers=_headers(operation_id, 304),
    )


def _complete_operation(operation: Operation) -> None:
    operation_id = operation.operation_id or ""
    responses = operation.responses if operation.responses is not None else {}
    if operation_id == "getProduct":
        responses["304"] = _not_modified(operation_id)
        operation.parameters = [*(operation.parameters or []), CONDITIONS["If-None-Match"]]
    if operation_id == "updateProduct":
        operation.parameters = [*(operation.parameters or []), *CONDITIONS.values()]
    if operation_id == "ready":
        responses["503"] = OpenAPIResponse(
            description="Not ready: a dependency failed its check (see `checks`)",
            content={
                "application/json": OpenAPIMediaType(
                    schema=Reference(ref="#/components/schemas/HealthReport"), example=HEALTH_REPORT
                )
            },
        )
    for status, response in list(responses.items()):
        if isinstance(response, OpenAPIResponse):
            response.headers = _headers(operation_id, int(status))
            if int(status) == 200 and operation_id in LINKS:
                response.links = dict(LINKS[operation_id])
    operation.responses = dict(sorted(responses.items()))


def complete(openapi: OpenAPI) -> None:
    """Add to ``openapi`` (as Litestar built it) everything above; idempotent per fresh document."""
    components = openapi.components if isinstance(openapi.components, Components) else Components()
    components.headers = dict(HEADERS)
    for name, example in EXAMPLES.items():
        schema = components.schemas.get(name)
        if schema is not None:
            schema.examples = [example]
    openapi.components = components
    for path_item in (openapi.paths or {}).values():
        for method in ("get", "put"):
            operation = getattr(path_item, method, None)
            if isinstance(operation, Operation):
                _complete_operation(operation)
