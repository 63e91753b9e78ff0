"""The psycopg 3 async connection pool, opened and closed as one resource, and told when to reconnect."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, ClassVar, Self
from weakref import WeakKeyDictionary

from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class PoolSettings:
    """Sizes and time limits of the pool; times are seconds.

    ``reconnect_timeout`` is how long one of the pool's own attempts to replace a connection keeps
    retrying (psycopg_pool backs off 1, 2, 4 ... s within it, with no cap of its own): kept short,
    so that after an outage no connection slot sleeps in a long backoff while the database is back.
    A slot that gives up is made again on demand, and the database breaker's probe refills the pool.
    """

    min_size: int = 2
    max_size: int = 10
    acquire_timeout: float = 5.0
    connect_timeout: float = 5.0
    statement_timeout: float = 10.0
    max_idle: float = 300.0
    reconnect_timeout: float = 1.0


class ConnectOutcomes:
    """Whether the pool's latest attempt to open a connection worked.

    A pool that times out while its connection attempts fail cannot reach the database; one that
    times out while they work is only busy.
    """

    def __init__(self) -> None:
        self.failing = False
        self.last_error: str | None = None

    def connection_class(self) -> type[AsyncConnection[Any]]:
        """A connection class for the pool that records the outcome of every connect in this object."""
        tracker = self

        class ObservedConnection(AsyncConnection[Any]):
            outcomes: ClassVar[ConnectOutcomes] = tracker

            @classmethod
            async def connect(cls, conninfo: str = "", **kwargs: Any) -> Self:
                try:
                    conn = await super().connect(conninfo, **kwargs)
                except Exception as error:
                    cls.outcomes.failing, cls.outcomes.last_error = True, type(error).__name__
                    raise
                cls.outcomes.failing = False
                return conn

        return ObservedConnection


class IdleCheck:
    """The pool's connection check, made only for connections that sat idle in the pool for a while.

    Checking every connection handed out costs a round trip per query (psycopg's
    ``check_connection`` runs an empty statement): a fifth of a write's CPU here. A connection back
    from a query less than ``trust`` seconds ago is handed out as it is; if the database went away
    in between, the query that gets it fails with a 503 and the pool drops it (the breaker's probe
    then refills the pool). A connection idle longer is checked first, so a quiet service finds
    connections broken by a restart before any request uses one.
    """

    def __init__(self, trust: float = 1.0) -> None:
        self._trust = trust
        self._returned: WeakKeyDictionary[AsyncConnection[Any], float] = WeakKeyDictionary()

    async def check(self, conn: AsyncConnection[Any]) -> None:
        """Raise if an idle connection does not work (the pool then replaces it)."""
        returned = self._returned.get(conn)
        if returned is None or time.monotonic() - returned >= self._trust:
            await AsyncConnectionPool.check_connection(conn)

    async def returned(self, conn: AsyncConnection[Any]) -> None:
        """Note when a connection came back to the pool (its ``reset`` callback)."""
        self._returned[conn] = time.monotonic()


def connect_outcomes(pool: AsyncConnectionPool) -> ConnectOutcomes | None:
    """The outcomes of ``pool``'s connection attempts, if it was opened by :func:`open_pool`."""
    outcomes = getattr(pool.connection_class, "outcomes", None)
    return outcomes if isinstance(outcomes, ConnectOutcomes) else None


@asynccontextmanager
async def direct_connection(pool: AsyncConnectionPool) -> AsyncIterator[AsyncConnection[Any]]:
    """A new connection made the way ``pool`` makes its own, outside it; closed on exit.

    Opening it does not wait on the pool's reconnection backoff. When it opens, the database is
    back: the pool drops the connections it holds (after an outage they are broken) and starts new
    ones at once, instead of at its next scheduled attempt.

    Raises:
        psycopg.OperationalError: the database cannot be reached.
    """
    kwargs = dict(pool.kwargs) if isinstance(pool.kwargs, dict) else {}
    conninfo = pool.conninfo if isinstance(pool.conninfo, str) else ""
    conn = await pool.connection_class.connect(conninfo, **kwargs)
    try:
        await pool.drain()
        await pool.check()  # an empty pool grows here (psycopg_pool >= 3.1.5)
        yield conn
    finally:
        await conn.close()


@asynccontextmanager
async def open_pool(
    conninfo: str, settings: PoolSettings | None = None
) -> AsyncIterator[AsyncConnectionPool]:
    """Open a pool, wait for its first connections, and close it on exit.

    Every connection is in autocommit mode (each statement is its own transaction unless a
    caller opens one) and carries a server-side statement timeout, so no query can hang a worker.
    """
    settings = settings or PoolSettings()
    idle = IdleCheck()
    pool = AsyncConnectionPool(
        conninfo,
        connection_class=ConnectOutcomes().connection_class(),
        min_size=settings.min_size,
        max_size=settings.max_size,
        timeout=settings.acquire_timeout,
        max_idle=settings.max_idle,
        reconnect_timeout=settings.reconnect_timeout,
        open=False,
        check=idle.check,
        reset=idle.returned,
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
