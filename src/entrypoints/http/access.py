"""Access rules, the key check and input limits from settings; API keys in the OpenAPI schema."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from litestar.openapi.spec import Reference, SecurityRequirement, SecurityScheme

from adapters.ratelimit import Policy
from entrypoints.apikeys import KeyRing
from entrypoints.http import ratelimit
from entrypoints.http.client_address import Network, parse_networks
from entrypoints.http.gate import KeyCheck
from entrypoints.http.input_limits import InputLimits
from entrypoints.settings import Settings

__all__ = ["API_KEY_SCHEME", "OPERATIONAL_PATHS", "SECURITY_SCHEMES"]

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


@dataclass(frozen=True, slots=True)
class AccessRules:
    """Who is charged to which budget, and who may read and write.

    Args:
        keys: The configured API keys.
        policies: The read and write budgets, or None for no rate limiting.
        trusted_proxies: Peers whose ``X-Forwarded-For`` is believed.
        reads_need_key: Whether reads need a key with the read scope.
    """

    keys: KeyRing
    policies: Mapping[str, Policy] | None
    trusted_proxies: tuple[Network, ...] = ()
    reads_need_key: bool = False


def access_rules(settings: Settings) -> AccessRules:
    """Budgets keyed by API key or client address, and who may read and write, for this configuration."""
    return AccessRules(
        keys=KeyRing.from_config(settings.api_keys),
        policies=ratelimit.policies(settings),
        trusted_proxies=parse_networks(settings.trusted_proxies),
        reads_need_key=settings.require_key_for_reads,
    )


def key_check(settings: Settings) -> KeyCheck:
    """The API key check of routed requests (writes always, reads when configured)."""
    return KeyCheck(
        keys=KeyRing.from_config(settings.api_keys),
        reads_need_key=settings.require_key_for_reads,
        exclude=OPERATIONAL_PATHS,
    )


def input_limits(settings: Settings) -> InputLimits:
    """Header and query-string bounds from settings."""
    return InputLimits(max_header_bytes=settings.max_header_bytes, max_query_bytes=settings.max_query_bytes)
