"""Readiness of the database: a round trip through the pool within a short deadline."""

from __future__ import annotations

import asyncio
import time

from psycopg_pool import AsyncConnectionPool

from adapters.breaker import CircuitBreaker
from productcore.ports import HealthStatus


class PostgresHealth:
    """Checks that a pooled connection answers ``SELECT 1`` in time (whatever the breaker says).

    Args:
        pool: The pool the service reads through.
        breaker: The breaker in front of the database, whose state is reported.
        timeout: Longest wait for the answer, in seconds.
    """

    def __init__(
        self, pool: AsyncConnectionPool, breaker: CircuitBreaker | None = None, timeout: float = 2.0
    ) -> None:
        self._pool = pool
        self._breaker = breaker
        self._timeout = timeout

    async def check(self) -> HealthStatus:
        """Report the round-trip time and pool usage, or why the database is unusable."""
        started = time.perf_counter()
        try:
            async with asyncio.timeout(self._timeout), self._pool.connection(timeout=self._timeout) as conn:
                await conn.execute("SELECT 1")
        except Exception as error:  # any failure means "not ready"; the reason is reported
            return HealthStatus("database", False, {"error": type(error).__name__, **self._breaker_state()})
        stats = self._pool.get_stats()
        return HealthStatus(
            "database",
            True,
            {
                "latency_ms": round((time.perf_counter() - started) * 1000, 2),
                "pool_size": stats.get("pool_size", 0),
                "pool_available": stats.get("pool_available", 0),
                **self._breaker_state(),
            },
        )

    def _breaker_state(self) -> dict[str, str]:
        return {} if self._breaker is None else {"breaker": self._breaker.state}
