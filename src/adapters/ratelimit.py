"""Rate limits with ``limits``: budgets shared in Redis, and a per-process fallback when Redis fails."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Literal

from limits import RateLimitItem, parse
from limits.aio.strategies import (
    MovingWindowRateLimiter,
    RateLimiter,
    SlidingWindowCounterRateLimiter,
)
from limits.errors import StorageError
from limits.storage import storage_from_string
from prometheus_client import Counter, Gauge
from redis.asyncio import ConnectionPool
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

log = logging.getLogger("productcore.ratelimit")

Strategy = Literal["sliding-window-counter", "moving-window"]
STRATEGIES: dict[Strategy, type[RateLimiter]] = {
    "sliding-window-counter": SlidingWindowCounterRateLimiter,
    "moving-window": MovingWindowRateLimiter,
}
_STORE_ERRORS = (StorageError, RedisError, OSError, TimeoutError)

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


@dataclass(frozen=True, slots=True)
class Verdict:
    """The outcome of one request against a budget."""

    allowed: bool
    remaining: int
    reset_after: float
    """Seconds until the budget has room again."""


async def _decide(limiter: RateLimiter, policy: Policy, identity: str) -> Verdict:
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

    When the shared store errs or is slower than ``timeout``, decisions come from the in-memory
    limiter (logged, counted in ``productcore_rate_limit_fallback_decisions``) and the shared store is
    retried after ``retry_after`` seconds, so an outage costs no request more than one timeout.

    Args:
        shared: The limiter over the shared store, or None to keep budgets per process.
        local: The limiter over process memory.
        timeout: Longest wait for the shared store per decision, in seconds.
        retry_after: How long to stay on the local limiter after a failure, in seconds.
    """

    def __init__(
        self,
        shared: RateLimiter | None,
        local: RateLimiter,
        *,
        timeout: float = 0.25,
        retry_after: float = 5.0,
    ) -> None:
        self._shared = shared
        self._local = local
        self._timeout = timeout
        self._retry_after = retry_after
        self._retry_at: float | None = None

    @property
    def degraded(self) -> bool:
        """True while a shared store is configured but decisions are local."""
        return self._retry_at is not None

    async def hit(self, policy: Policy, identity: str) -> Verdict:
        """Count one request by ``identity`` against ``policy`` and say whether it may proceed."""
        if self._shared is not None and (self._retry_at is None or time.monotonic() >= self._retry_at):
            try:
                async with asyncio.timeout(self._timeout):
                    verdict = await _decide(self._shared, policy, identity)
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
            cause = error.storage_error if isinstance(error, StorageError) else error
            log.warning(
                "rate-limit store unreachable (%s: %s); limits are per process until it answers again",
                type(cause).__name__,
                cause,
            )
        self._retry_at = time.monotonic() + self._retry_after

    def _recovered(self) -> None:
        if self._retry_at is not None:
            self._retry_at = None
            DEGRADED.set(0)
            log.warning("rate-limit store answers again; budgets are shared again")


def _storage_uri(redis_url: str) -> str:
    scheme, _, rest = redis_url.partition("://")
    if scheme == "unix":
        return f"async+redis+unix://{rest}"
    return f"async+{scheme}://{rest}"


@asynccontextmanager
async def open_limiter(
    redis_url: str | None,
    *,
    strategy: Strategy = "sliding-window-counter",
    key_prefix: str = "productcore:ratelimit",
    store_timeout: float = 0.25,
    retry_after: float = 5.0,
) -> AsyncIterator[Limiter]:
    """Yield a limiter over Redis at ``redis_url`` (or memory only when None); close it on exit."""
    local = STRATEGIES[strategy](storage_from_string("async+memory://"))
    if redis_url is None:
        yield Limiter(None, local)
        return
    # No client-side retries: a failed command falls back at once instead of backing off.
    pool = ConnectionPool.from_url(
        redis_url,
        socket_connect_timeout=store_timeout,
        socket_timeout=store_timeout,
        retry=Retry(NoBackoff(), 0),
    )
    storage = storage_from_string(
        _storage_uri(redis_url),
        implementation="redispy",
        key_prefix=key_prefix,
        wrap_exceptions=True,
        connection_pool=pool,  # type: ignore[arg-type]  # limits passes options through to redis-py
    )
    try:
        yield Limiter(STRATEGIES[strategy](storage), local, timeout=store_timeout, retry_after=retry_after)
    finally:
        await pool.aclose()
