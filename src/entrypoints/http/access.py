"""Build the access gate and input limits from settings, and describe API keys in the OpenAPI schema."""

from __future__ import annotations

from litestar.datastructures import ResponseHeader
from litestar.openapi.spec import Reference, SecurityRequirement, SecurityScheme

from entrypoints.apikeys import KeyRing
from entrypoints.http import ratelimit
from entrypoints.http.client_address import parse_networks
from entrypoints.http.gate import LIMITER_STATE_KEY, AccessGate, KeyCheck
from entrypoints.http.input_limits import InputLimits
from entrypoints.settings import Settings

__all__ = ["API_KEY_SCHEME", "LIMITER_STATE_KEY", "OPERATIONAL_PATHS", "SECURITY_SCHEMES"]

OPERATIONAL_PATHS = ("^/health/", "^/metrics$", "^/docs(/|$)")
"""Probes, metrics and API docs: never rate limited or keyed, so an orchestrator, a Prometheus scraper
or a reader of the docs never spends (or is refused by) a client's product budget."""

API_KEY_SCHEME = "apiKey"
SECURITY_SCHEMES: dict[str, SecurityScheme | Reference] = {
    API_KEY_SCHEME: SecurityScheme(
        type="http",
        scheme="bearer",
        description="An API key made with `productcore keys create`; writes need the write scope.",
    )
}
WRITE_SECURITY: list[SecurityRequirement] = [{API_KEY_SCHEME: []}]
"""The ``security`` of a write operation in the OpenAPI schema."""


RATE_LIMIT_HEADERS = [
    ResponseHeader(
        name="RateLimit-Policy",
        documentation_only=True,
        description='The budget this request counts against, e.g. `"read";q=100;w=60` '
        "(draft-ietf-httpapi-ratelimit-headers); absent when rate limiting is off",
    ),
    ResponseHeader(
        name="RateLimit",
        documentation_only=True,
        description='What is left of it: `"read";r=<remaining>;t=<seconds until it has room again>`',
    ),
]


def access_gate(settings: Settings) -> AccessGate:
    """The gate for this configuration: read/write budgets, keyed by API key or client address."""
    return AccessGate(
        keys=KeyRing.from_config(settings.api_keys),
        policies=ratelimit.policies(settings),
        trusted_proxies=parse_networks(settings.trusted_proxies),
        exclude=OPERATIONAL_PATHS,
    )


def key_check(settings: Settings) -> KeyCheck:
    """The API key check for this configuration (writes always, reads when configured)."""
    return KeyCheck(
        keys=KeyRing.from_config(settings.api_keys),
        reads_need_key=settings.require_key_for_reads,
        exclude=OPERATIONAL_PATHS,
    )


def input_limits(settings: Settings) -> InputLimits:
    """Header and query-string bounds from settings."""
    return InputLimits(max_header_bytes=settings.max_header_bytes, max_query_bytes=settings.max_query_bytes)
