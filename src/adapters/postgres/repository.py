"""``ProductRepository`` over PostgreSQL: bound parameters only, rows become ``Product`` here."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Any

import psycopg
from psycopg import AsyncConnection, sql
from psycopg.rows import class_row
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from adapters.breaker import CircuitBreaker
from adapters.postgres.pool import connect_outcomes, direct_connection
from productcore.errors import (
    FieldError,
    InvalidInput,
    ProductNotFound,
    ServiceUnavailable,
    VersionConflict,
)
from productcore.model import Cursor, PriceStock, Product, SearchCriteria, Sort, Total

log = logging.getLogger(__name__)

_COLUMNS = sql.SQL("id, name, description, price, stock, version, created_at, updated_at")

_GET = sql.SQL("SELECT {} FROM products WHERE id = %(id)s").format(_COLUMNS)

_UPDATE = sql.SQL(
    "UPDATE products SET price = %(price)s, stock = %(stock)s "
    "WHERE id = %(id)s AND (%(expected)s::bigint IS NULL OR version = %(expected)s::bigint) "
    "RETURNING {}"
).format(_COLUMNS)

_CURRENT_VERSION = "SELECT version FROM products WHERE id = %(id)s"

_TOTAL = "SELECT row_count FROM product_stats"

REFUSED_VALUE = "has a value outside what a product can hold"


def like_pattern(text: str) -> str:
    """A LIKE pattern matching ``text`` anywhere, with ``%``, ``_`` and ``\\`` taken literally."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _where(criteria: SearchCriteria | None, params: dict[str, Any]) -> list[sql.Composable]:
    clauses: list[sql.Composable] = []
    if criteria is None:
        return clauses
    if criteria.name is not None:
        params["name"] = like_pattern(criteria.name)
        clauses.append(sql.SQL("name ILIKE %(name)s"))
    if criteria.min_price is not None:
        params["min_price"] = criteria.min_price
        clauses.append(sql.SQL("price >= %(min_price)s"))
    if criteria.max_price is not None:
        params["max_price"] = criteria.max_price
        clauses.append(sql.SQL("price <= %(max_price)s"))
    return clauses


def _where_sql(clauses: list[sql.Composable]) -> sql.Composable:
    return sql.SQL(" WHERE ") + sql.SQL(" AND ").join(clauses) if clauses else sql.SQL("")


def _cursor_key(cursor: Cursor) -> Decimal | str | int:
    return Decimal(cursor.key) if cursor.sort.column == "price" else cursor.key


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
        params: dict[str, Any] = {"limit": limit}
        clauses = _where(criteria, params)
        column = sql.Identifier(sort.column)
        # Reading backwards from a "before" cursor walks the index in the opposite direction.
        backwards = cursor is not None and cursor.before
        descending = sort.descending != backwards
        if cursor is not None:
            params["key"], params["after_id"] = _cursor_key(cursor), cursor.id
            beyond = sql.SQL("<" if descending else ">")
            if sort.column == "id":
                clauses.append(sql.SQL("id {} %(after_id)s").format(beyond))
            else:
                clauses.append(sql.SQL("({}, id) {} (%(key)s, %(after_id)s)").format(column, beyond))
        direction = sql.SQL("DESC" if descending else "ASC")
        order = (
            sql.SQL("id {}").format(direction)
            if sort.column == "id"
            else sql.SQL("{} {}, id {}").format(column, direction, direction)
        )
        query = sql.SQL("SELECT {} FROM products{} ORDER BY {} LIMIT %(limit)s").format(
            _COLUMNS, _where_sql(clauses), order
        )
        if cursor is None and offset:
            params["offset"] = offset
            query += sql.SQL(" OFFSET %(offset)s")
        async with self._connection() as conn:
            cur = conn.cursor(row_factory=class_row(Product))
            await cur.execute(query, params)
            rows = await cur.fetchall()
        return rows[::-1] if backwards else rows

    async def count(self, criteria: SearchCriteria | None, *, exact_up_to: int) -> Total:
        """Count products: exact for every product, exact up to a cap for a filter, else estimated.

        An estimate is the planner's, at least what was counted and at most the catalogue's size.
        """
        async with self._connection() as conn:
            if criteria is None:
                cur = await conn.execute(_TOTAL)
                row = await cur.fetchone()
                return Total(int(row[0]) if row else 0, exact=True)
            params: dict[str, Any] = {"cap": exact_up_to + 1}
            where = _where_sql(_where(criteria, params))
            capped = sql.SQL("SELECT count(*) FROM (SELECT 1 FROM products{} LIMIT %(cap)s) AS matched")
            cur = await conn.execute(capped.format(where), params)
            row = await cur.fetchone()
            counted = int(row[0]) if row else 0
            if counted <= exact_up_to:
                return Total(counted, exact=True)
            del params["cap"]
            explain = sql.SQL("EXPLAIN (FORMAT JSON) SELECT 1 FROM products{}").format(where)
            cur = await conn.execute(explain, params)
            row = await cur.fetchone()
            estimate = int(row[0][0]["Plan"]["Plan Rows"]) if row else 0
            # Never more than the whole catalogue, whose size is known exactly and cheaply.
            cur = await conn.execute(_TOTAL)
            row = await cur.fetchone()
            everything = int(row[0]) if row else estimate
            return Total(max(counted, min(estimate, everything)), exact=False)

    async def update(self, product_id: int, change: PriceStock, *, expected_version: int | None) -> Product:
        """Set price and stock in one statement; the trigger bumps the version."""
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
