"""``ProductRepository`` over PostgreSQL: bound parameters only, rows become ``Product`` here."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import psycopg
from psycopg import AsyncConnection, sql
from psycopg.rows import class_row
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from adapters.breaker import CircuitBreaker
from adapters.postgres.pages import COLUMNS, Counting, Window
from adapters.postgres.pool import connect_outcomes, direct_connection
from adapters.postgres.writes import BatchedWrites
from productcore.errors import (
    FieldError,
    InvalidInput,
    ProductNotFound,
    ServiceUnavailable,
    VersionConflict,
)
from productcore.model import Cursor, PriceStock, Product, SearchCriteria, Sort, Total

log = logging.getLogger(__name__)

_GET = sql.SQL("SELECT {} FROM products WHERE id = %(id)s").format(COLUMNS)

_UPDATE = sql.SQL(
    "UPDATE products SET price = %(price)s, stock = %(stock)s "
    "WHERE id = %(id)s AND (%(expected)s::bigint IS NULL OR version = %(expected)s::bigint) "
    "RETURNING {}"
).format(COLUMNS)

_CURRENT_VERSION = "SELECT version FROM products WHERE id = %(id)s"

REFUSED_VALUE = "has a value outside what a product can hold"


class PostgresProductRepository:
    """Products in the ``products`` table of a PostgreSQL database, through a pool.

    Behind a circuit breaker: once the database cannot be reached (connections fail, or the pool
    times out while its attempts to connect fail), calls are refused with ``ServiceUnavailable`` at
    once instead of each waiting the pool timeout. The one call that probes the database then opens
    a connection of its own, outside the pool, so it never waits on the pool's reconnection
    backoff; when that works, the pool is refilled at once. A pool that times out because every
    connection is busy, or a statement that runs into its timeout, is refused too, but is no sign
    that the database is down and never opens the breaker.
    """

    def __init__(self, pool: AsyncConnectionPool, breaker: CircuitBreaker | None = None) -> None:
        self._pool = pool
        self.breaker = breaker or CircuitBreaker(failures=3, reset_after=0.5)
        self.writes = BatchedWrites(self._connection, self._update_one)

    def _unreachable(self) -> bool:
        """Whether the pool's own attempts to connect are failing (unknown: assume they are)."""
        outcomes = connect_outcomes(self._pool)
        return outcomes is None or outcomes.failing

    @asynccontextmanager
    async def _connection(self) -> AsyncIterator[AsyncConnection]:
        if not self.breaker.allow():
            raise ServiceUnavailable("the database is unavailable (connections failed just now)")
        probing = self.breaker.state != "closed"
        outcome = self.breaker.abandon
        try:
            async with direct_connection(self._pool) if probing else self._pool.connection() as conn:
                yield conn
        except PoolTimeout:
            if self._unreachable():
                outcome = self.breaker.failure
                raise ServiceUnavailable("the database cannot be reached (connections fail)") from None
            raise ServiceUnavailable("every database connection is busy; none became free in time") from None
        except psycopg.errors.QueryCanceled:
            outcome = self.breaker.success
            raise ServiceUnavailable("the database did not answer in time (statement timeout)") from None
        except psycopg.OperationalError as error:
            outcome = self.breaker.failure
            raise ServiceUnavailable(f"the database is unavailable ({type(error).__name__})") from None
        except psycopg.DataError as error:
            # A value the database cannot take (out of a column's range, a NUL in text): the core's
            # checks should have refused it first, so it is logged, but it is the caller's value.
            outcome = self.breaker.success
            log.warning("the database refused a value: %s: %s", type(error).__name__, error)
            raise InvalidInput([FieldError("request", REFUSED_VALUE)]) from None
        except Exception:
            outcome = self.breaker.success
            raise
        else:
            outcome = self.breaker.success
        finally:
            was_open = self.breaker.state != "closed"
            outcome()
            if self.breaker.state == "closed" and was_open:
                log.warning("the database answers again; database calls resume")
            elif self.breaker.state == "open" and not was_open:
                log.warning("the database is unreachable; refusing database calls with 503 until it answers")

    async def get(self, product_id: int) -> Product | None:
        """Return the product with this id, or None."""
        async with self._connection() as conn:
            cur = conn.cursor(row_factory=class_row(Product))
            await cur.execute(_GET, {"id": product_id})
            return await cur.fetchone()

    async def fetch(
        self,
        criteria: SearchCriteria | None,
        sort: Sort,
        limit: int,
        *,
        offset: int = 0,
        cursor: Cursor | None = None,
    ) -> list[Product]:
        """Return a window of products in ``(sort key, id)`` order, by offset or keyset cursor."""
        window = Window(criteria, sort, limit, offset, cursor)
        async with self._connection() as conn:
            cur = conn.cursor(row_factory=class_row(Product))
            await cur.execute(window.query, window.params)
            return window.ordered(await cur.fetchall())

    async def count(self, criteria: SearchCriteria | None, *, exact_up_to: int) -> Total:
        """Count products: exact for every product, exact up to a cap for a filter, else estimated.

        An estimate is the planner's, at least what was counted and at most the catalogue's size.
        """
        async with self._connection() as conn:
            return await Counting(criteria, exact_up_to).total(conn)

    async def page(
        self,
        criteria: SearchCriteria | None,
        sort: Sort,
        limit: int,
        *,
        offset: int = 0,
        cursor: Cursor | None = None,
        exact_up_to: int,
    ) -> tuple[list[Product], Total]:
        """``fetch``, then ``count``, on one connection: a page never holds two, and when one statement
        fails nothing of the page keeps running (``bench/page_queries.py`` compares the ways).

        A page by offset that is not full is the last: its total is known without counting.
        """
        window = Window(criteria, sort, limit, offset, cursor)
        counting = Counting(criteria, exact_up_to)
        async with self._connection() as conn:
            cur = conn.cursor(row_factory=class_row(Product))
            await cur.execute(window.query, window.params)
            rows = window.ordered(await cur.fetchall())
            if cursor is None and len(rows) < limit and (rows or not offset):
                return rows, Total(offset + len(rows), exact=True)
            return rows, await counting.total(conn)

    async def update(self, product_id: int, change: PriceStock, *, expected_version: int | None) -> Product:
        """Set price and stock, committed with the writes of the moment; the trigger bumps the version."""
        return await self.writes.update(product_id, change, expected_version)

    async def _update_one(self, product_id: int, change: PriceStock, expected_version: int | None) -> Product:
        """Set price and stock in a statement of its own."""
        params = {
            "id": product_id,
            "price": change.price,
            "stock": change.stock,
            "expected": expected_version,
        }
        async with self._connection() as conn:
            cur = conn.cursor(row_factory=class_row(Product))
            await cur.execute(_UPDATE, params)
            product = await cur.fetchone()
            if product is not None:
                return product
            current = await (await conn.execute(_CURRENT_VERSION, {"id": product_id})).fetchone()
        if current is None:
            raise ProductNotFound(product_id)
        raise VersionConflict(product_id, expected_version or 0, int(current[0]))
