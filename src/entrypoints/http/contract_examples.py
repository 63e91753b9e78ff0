"""Fixed, realistic examples for the OpenAPI document (the same in every process, valid for the API)."""

from __future__ import annotations

from typing import Any

PRODUCT: dict[str, Any] = {
    "id": 42,
    "name": "Vantage Ergonomic Canvas Chair U2-CE1RN",
    "description": "Chair by Vantage, designed for everyday use.",
    "price": "189.90",
    "stock": 12,
    "version": 3,
    "created_at": "2026-01-15T09:30:00Z",
    "updated_at": "2026-02-01T17:45:12.250000Z",
}

PAGE: dict[str, Any] = {
    "items": [PRODUCT],
    "meta": {
        "page": 42,
        "limit": 1,
        "sort": "id",
        "total": 10000,
        "total_is_exact": True,
        "total_pages": 10000,
    },
    "links": {
        "self": "/products?limit=1&sort=id&page=42",
        "first": "/products?limit=1&sort=id&page=1",
        "last": "/products?limit=1&sort=id&page=10000",
        "next": "/products?limit=1&sort=id&cursor=WyJpZCIsNDIsNDIsZmFsc2UsNDNd",
        "prev": "/products?limit=1&sort=id&cursor=WyJpZCIsNDIsNDIsdHJ1ZSw0MV0",
    },
}
"""A middle page (Litestar drops ``None`` from examples, so ``prev`` and ``next`` are both links)."""

PROBLEM: dict[str, Any] = {
    "type": "urn:productcore:problem:version-mismatch",
    "title": "Precondition failed",
    "status": 412,
    "detail": 'the product is at version 4; re-read it and retry with If-Match: "4"',
    "instance": "/products/42",
    "request_id": "7f3c2a9e1b4d4c0e8a6f5d2c1b0a9e8d",
    "current_version": 4,
}

_CACHE_OK = {"name": "cache", "ok": True, "details": {"breaker": "closed", "state": "ok", "latency_ms": 0.41}}

HEALTH_REPORT: dict[str, Any] = {
    "status": "unavailable",
    "checks": {
        "database": {"name": "database", "ok": False, "details": {"error": "PoolTimeout", "breaker": "open"}},
        "cache": {
            "name": "cache",
            "ok": True,
            "details": {"breaker": "closed", "state": "ok", "latency_ms": 0.41},
        },
    },
}
"""A failed readiness check, as ``/health/ready`` answers it with 503."""

READY: dict[str, Any] = {
    "status": "ready",
    "checks": {
        "database": {
            "name": "database",
            "ok": True,
            "details": {"latency_ms": 0.62, "pool_size": 2, "pool_available": 2, "breaker": "closed"},
        },
        "cache": {
            "name": "cache",
            "ok": True,
            "details": {"breaker": "closed", "state": "ok", "latency_ms": 0.41},
        },
    },
}

EXAMPLES: dict[str, dict[str, Any]] = {
    "ProductOut": PRODUCT,
    "ProductPage": PAGE,
    "PriceStockIn": {"price": "19.99", "stock": 7},
    "Problem": PROBLEM,
    "HealthReport": READY,
}
"""One example per component schema, by schema name."""
