"""Rate-limit budgets per route group, and the IETF draft ``RateLimit-Policy`` / ``RateLimit`` fields."""

from __future__ import annotations

import math

from prometheus_client import Counter

from adapters.ratelimit import Policy, Verdict
from entrypoints.apikeys import READ, WRITE
from entrypoints.http.problems import RATE_LIMITED, ApiProblem, problem
from entrypoints.settings import Settings

REJECTED = Counter(
    "productcore_rate_limited_requests", "Requests refused with 429, by budget", labelnames=["policy"]
)


def policies(settings: Settings) -> dict[str, Policy] | None:
    """The read and write budgets, or None when rate limiting is turned off."""
    if not settings.rate_limit_enabled:
        return None
    return {
        READ: Policy.parse(READ, settings.rate_limit_read),
        WRITE: Policy.parse(WRITE, settings.rate_limit_write),
    }


def fields(policy: Policy, verdict: Verdict) -> list[tuple[bytes, bytes]]:
    """The fields of draft-ietf-httpapi-ratelimit-headers: the policy, and what is left of it now."""
    return [
        (b"ratelimit-policy", policy.field),
        (b"ratelimit", f'"{policy.name}";r={verdict.remaining};t={math.ceil(verdict.reset_after)}'.encode()),
    ]


def too_many_requests(policy: Policy, verdict: Verdict) -> ApiProblem:
    """The 429 problem, with ``Retry-After`` in whole seconds (at least one)."""
    REJECTED.labels(policy.name).inc()
    retry = max(1, math.ceil(verdict.reset_after))
    return problem(
        RATE_LIMITED,
        f"the {policy.name} budget of {policy.quota} requests per {policy.window} s is spent for this "
        f"client; retry in {retry} s",
        headers={"Retry-After": str(retry)},
    )
