"""Readiness of the database: a round trip through the pool within a short deadline."""

from __future__ import annotations

import asyncio
import time

from psycopg_pool import AsyncConnectionPool, PoolTimeout

from adapters.breaker import CircuitBreaker
from adapters.postgres.pool import connect_outcomes
from productcore.ports import HealthStatus


class PostgresHealth:
    """Checks that a pooled connection answers ``SELECT 1`` in time (whatever the breaker says).

    A pool too busy to lend a connection in time, while its attempts to connect work, is reported
    but still ready: saturation must not take every instance out of rotation at once.

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
            async with self._pool.connection(timeout=self._timeout) as conn:
                async with asyncio.timeout(self._timeout):
                    await conn.execute("SELECT 1")
        except PoolTimeout:
            outcomes = connect_outcomes(self._pool)
            busy = outcomes is not None and not outcomes.failing
            details = {"error": "PoolTimeout", "pool": "busy" if busy else "cannot connect"}
            return HealthStatus("database", busy, {**details, **self._breaker_state()})
        except Exception as error:  # any other failure means "not ready"; the reason is reported
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
