"""The psycopg 3 async connection pool, opened and closed as one resource."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from psycopg_pool import AsyncConnectionPool


@dataclass(frozen=True, slots=True)
class PoolSettings:
    """Sizes and time limits of the pool; times are seconds."""

    min_size: int = 2
    max_size: int = 10
    acquire_timeout: float = 5.0
    connect_timeout: float = 5.0
    statement_timeout: float = 10.0
    max_idle: float = 300.0


@asynccontextmanager
async def open_pool(
    conninfo: str, settings: PoolSettings | None = None
) -> AsyncIterator[AsyncConnectionPool]:
    """Open a pool, wait for its first connections, and close it on exit.

    Every connection is in autocommit mode (each statement is its own transaction unless a
    caller opens one) and carries a server-side statement timeout, so no query can hang a worker.
    """
    settings = settings or PoolSettings()
    pool = AsyncConnectionPool(
        conninfo,
        min_size=settings.min_size,
        max_size=settings.max_size,
        timeout=settings.acquire_timeout,
        max_idle=settings.max_idle,
        open=False,
        check=AsyncConnectionPool.check_connection,
        name="productcore",
        kwargs={
            "autocommit": True,
            "connect_timeout": max(1, round(settings.connect_timeout)),
            "application_name": "productcore",
            "options": f"-c statement_timeout={int(settings.statement_timeout * 1000)}",
        },
    )
    await pool.open(wait=True, timeout=settings.connect_timeout)
    try:
        yield pool
    finally:
        await pool.close()
