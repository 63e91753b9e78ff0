"""Readiness of the database: a round trip through the pool within a short deadline."""

from __future__ import annotations

import asyncio
import time

from psycopg_pool import AsyncConnectionPool

from productcore.ports import HealthStatus


class PostgresHealth:
    """Checks that a pooled connection answers ``SELECT 1`` in time."""

    def __init__(self, pool: AsyncConnectionPool, timeout: float = 2.0) -> None:
        self._pool = pool
        self._timeout = timeout

    async def check(self) -> HealthStatus:
        """Report the round-trip time and pool usage, or why the database is unusable."""
        started = time.perf_counter()
        try:
            async with asyncio.timeout(self._timeout), self._pool.connection(timeout=self._timeout) as conn:
                await conn.execute("SELECT 1")
        except Exception as error:  # any failure means "not ready"; the reason is reported
            return HealthStatus("database", False, {"error": type(error).__name__})
        stats = self._pool.get_stats()
        return HealthStatus(
            "database",
            True,
            {
                "latency_ms": round((time.perf_counter() - started) * 1000, 2),
                "pool_size": stats.get("pool_size", 0),
                "pool_available": stats.get("pool_available", 0),
            },
        )
