"""Rate limits with ``limits``: budgets shared in Redis, and a per-process fallback when Redis fails."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from dataclasses import field as dataclass_field

from limits import RateLimitItem, parse
from limits.aio.strategies import (
    MovingWindowRateLimiter,
    RateLimiter,
    SlidingWindowCounterRateLimiter,
)
from limits.storage import storage_from_string
from prometheus_client import Counter, Gauge
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisClusterException, RedisError

from adapters.redis.budgets import BatchedBudgets, Strategy, Verdict
from adapters.redis.cluster import client_from_url, discover

log = logging.getLogger("productcore.ratelimit")

__all__ = ["Limiter", "Policy", "Strategy", "Verdict", "open_limiter"]

STRATEGIES: dict[Strategy, type[RateLimiter]] = {
    "sliding-window-counter": SlidingWindowCounterRateLimiter,
    "moving-window": MovingWindowRateLimiter,
}
_STORE_ERRORS = (RedisError, RedisClusterException, OSError, TimeoutError)

FALLBACK_DECISIONS = Counter(
    "productcore_rate_limit_fallback_decisions",
    "Rate-limit decisions taken by the per-process memory limiter because the shared store failed",
)
STORE_FAILURES = Counter(
    "productcore_rate_limit_store_failures",
    "Times the shared rate-limit store (Redis) failed or timed out",
)
DEGRADED = Gauge(
    "productcore_rate_limit_degraded",
    "1 while rate limits are kept per process because the shared store is unreachable",
)


@dataclass(frozen=True, slots=True)
class Policy:
    """A named budget: ``quota`` requests per ``window`` seconds."""

    name: str
    item: RateLimitItem
    field: bytes = dataclass_field(init=False, repr=False, compare=False)
    """This budget as a ``RateLimit-Policy`` field value (draft-ietf-httpapi-ratelimit-headers)."""

    @classmethod
    def parse(cls, name: str, text: str) -> Policy:
        """Build from a ``limits`` string such as ``100/minute``.

        Raises:
            ValueError: the text is not one rate limit.
        """
        return cls(name, parse(text))

    @property
    def quota(self) -> int:
        """Requests allowed per window."""
        return int(self.item.amount)

    @property
    def window(self) -> int:
        """The window length in seconds."""
        return int(self.item.get_expiry())

    def __post_init__(self) -> None:
        field_value = f'"{self.name}";q={self.quota};w={self.window}'.encode()
        object.__setattr__(self, "field", field_value)


async def _decide(limiter: RateLimiter, policy: Policy, identity: str) -> Verdict:
    """A decision of the per-process limiter (``limits`` in memory): the hit, then the window's state."""
    allowed = await limiter.hit(policy.item, policy.name, identity)
    stats = await limiter.get_window_stats(policy.item, policy.name, identity)
    remaining = max(0, int(stats.remaining))
    reset_after = stats.reset_time - time.time()
    if reset_after <= 0 and remaining < policy.quota:
        # The sliding window counter reports "now" for a window opened this very millisecond.
        reset_after = policy.window
    return Verdict(allowed, remaining, max(0.0, reset_after))


class Limiter:
    """Counts requests against budgets in a shared store, failing open to a per-process store.

    When the shared store errs or times out (its client's socket timeout bounds each batch, and a
    decision waits for at most the batch in flight and its own), decisions come from the in-memory
    limiter (logged, counted in ``productcore_rate_limit_fallback_decisions``) and the shared store is
    retried after ``retry_after`` seconds, so an outage costs no request more than two timeouts.

    Args:
        shared: The budgets in the shared store, or None to keep budgets per process.
        local: The limiter over process memory.
        retry_after: How long to stay on the local limiter after a failure, in seconds.
    """

    def __init__(
        self, shared: BatchedBudgets | None, local: RateLimiter, *, retry_after: float = 5.0
    ) -> None:
        self._shared = shared
        self._local = local
        self._retry_after = retry_after
        self._retry_at: float | None = None

    @property
    def shared(self) -> BatchedBudgets | None:
        """The budgets in the shared store, if any."""
        return self._shared

    @property
    def degraded(self) -> bool:
        """True while a shared store is configured but decisions are local."""
        return self._retry_at is not None

    async def hit(self, policy: Policy, identity: str) -> Verdict:
        """Count one request by ``identity`` against ``policy`` and say whether it may proceed."""
        if self._shared is not None and (self._retry_at is None or time.monotonic() >= self._retry_at):
            try:
                decided = self._shared.decide(policy.name, policy.quota, policy.window, identity)
                verdict = decided if isinstance(decided, Verdict) else await decided
            except _STORE_ERRORS as error:
                self._failed(error)
            else:
                self._recovered()
                return verdict
        if self._shared is not None:
            FALLBACK_DECISIONS.inc()
        return await _decide(self._local, policy, identity)

    def _failed(self, error: BaseException) -> None:
        STORE_FAILURES.inc()
        if self._retry_at is None:
            DEGRADED.set(1)
            log.warning(
                "rate-limit store unreachable (%s: %s); limits are per process until it answers again",
                type(error).__name__,
                error,
            )
        self._retry_at = time.monotonic() + self._retry_after

    def _recovered(self) -> None:
        if self._retry_at is not None:
            self._retry_at = None
            DEGRADED.set(0)
            log.warning("rate-limit store answers again; budgets are shared again")


@asynccontextmanager
async def open_limiter(
    redis_url: str | None,
    *,
    strategy: Strategy = "sliding-window-counter",
    key_prefix: str = "productcore:ratelimit",
    store_timeout: float = 0.25,
    retry_after: float = 5.0,
) -> AsyncIterator[Limiter]:
    """Yield a limiter over Redis at ``redis_url`` (a ``redis+cluster://`` URL: a Redis Cluster), or
    memory only when None; close it on exit."""
    local = STRATEGIES[strategy](storage_from_string("async+memory://"))
    if redis_url is None:
        yield Limiter(None, local)
        return
    # No client-side retries: a failed batch falls back at once instead of backing off.
    client = client_from_url(
        redis_url,
        socket_connect_timeout=store_timeout,
        retry=Retry(NoBackoff(), 0),
        client_name="productcore-ratelimit",
    )
    await discover(client)
    budgets = BatchedBudgets(client, key_prefix, strategy, timeout=store_timeout)
    try:
        yield Limiter(budgets, local, retry_after=retry_after)
    finally:
        await budgets.aclose()
        await client.aclose()
