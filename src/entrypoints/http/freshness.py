"""HTTP caching (RFC 9111): the ``Cache-Control`` of each resource, and compression that says it varies.

- ``/products/{id}`` (200, 304, and a ``PUT``'s 200): ``no-cache`` with a strong ``ETag``; a cache may
  keep it but revalidates before each use, and a 304 is cheap.
- Lists and search: ``no-store``; they have no validator to revalidate with, and a kept page would go on
  showing old prices.
- Every problem (4xx, 5xx): ``no-store``; 404, 405 and 414 are otherwise heuristically cacheable, and an
  error must not outlive its cause.
- ``/health/*`` and ``/metrics``: ``no-store``; a probe must see this instant.
- ``/docs`` and ``/docs/openapi.json``: ``max-age=300``; they change only with a deployment.

Product documents are never compressed: most are ~250 bytes, and a gzipped answer of a long one cost
6.5 times the CPU of the identity answer, so a product has one representation and one strong ``ETag``.
Everything else may be gzipped from 1 KiB and always carries ``Vary: Accept-Encoding``.
"""

from __future__ import annotations

from litestar.config.compression import CompressionConfig
from litestar.datastructures import CacheControlHeader, MutableScopeHeaders
from litestar.middleware.compression import CompressionMiddleware
from litestar.types import Message, Receive, Scope, Send

NO_STORE = CacheControlHeader(no_store=True)
"""Lists, search, probes, metrics and problems: never kept by any cache."""
SCHEMA = CacheControlHeader(max_age=300)
"""The API docs and the OpenAPI document: fresh for five minutes in any cache."""
PRODUCT = "no-cache"
"""A product document: stored, but revalidated with its ``ETag`` before every use."""
UNCOMPRESSED = "uncompressed"
"""The ``opt`` key of handlers whose answers are never compressed (one representation, one ``ETag``)."""
COMPRESSION_MINIMUM = 1024
"""Bodies from this size are gzipped for clients that accept it."""


class VaryingCompression(CompressionMiddleware):
    """Litestar's compression, with ``Vary: Accept-Encoding`` on every answer it could have compressed.

    Litestar adds ``Vary`` only to the answers it compresses, so a small (or identity) answer of the
    same resource says nothing of the negotiation and a cache may serve it to anyone (RFC 9110 §12.5.5).
    """

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Compress as Litestar does; mark every response start as varying with ``Accept-Encoding``."""

        async def varying(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableScopeHeaders.from_message(message)
                if "accept-encoding" not in (headers.get("vary") or "").lower():
                    headers.extend_header_value("vary", "Accept-Encoding")
            await send(message)

        await super().__call__(scope, receive, varying)


def compression() -> CompressionConfig:
    """Gzip from 1 KiB, not for handlers marked ``UNCOMPRESSED``, always with ``Vary``."""
    return CompressionConfig(
        backend="gzip",
        minimum_size=COMPRESSION_MINIMUM,
        exclude_opt_key=UNCOMPRESSED,
        middleware_class=VaryingCompression,
    )
