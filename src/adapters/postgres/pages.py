"""The SQL of a page: its window of rows (by offset or keyset cursor) and its total, bound parameters only."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from psycopg import AsyncConnection, sql

from productcore.model import Cursor, Product, SearchCriteria, Sort, Total

COLUMNS = sql.SQL("id, name, description, price, stock, version, created_at, updated_at")

_TOTAL = "SELECT row_count FROM product_stats"


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


class Window:
    """The query of up to ``limit`` products in ``(sort key, id)`` order, by offset or keyset cursor."""

    def __init__(
        self, criteria: SearchCriteria | None, sort: Sort, limit: int, offset: int, cursor: Cursor | None
    ) -> None:
        self.params: dict[str, Any] = {"limit": limit}
        clauses = _where(criteria, self.params)
        column = sql.Identifier(sort.column)
        # Reading backwards from a "before" cursor walks the index in the opposite direction.
        self.backwards = cursor is not None and cursor.before
        descending = sort.descending != self.backwards
        if cursor is not None:
            self.params["key"], self.params["after_id"] = _cursor_key(cursor), cursor.id
            beyond = sql.SQL("<" if descending else ">")
            if sort.column == "id":
                clauses.append(sql.SQL("id {} %(after_id)s").format(beyond))
            elif cursor.partial:  # a cut name: the product's own name, or the cut one if it is gone
                clauses.append(
                    sql.SQL(
                        "(name, id) {} (coalesce((SELECT name FROM products WHERE id = %(after_id)s), "
                        "%(key)s), %(after_id)s)"
                    ).format(beyond)
                )
            else:
                clauses.append(sql.SQL("({}, id) {} (%(key)s, %(after_id)s)").format(column, beyond))
        direction = sql.SQL("DESC" if descending else "ASC")
        order = (
            sql.SQL("id {}").format(direction)
            if sort.column == "id"
            else sql.SQL("{} {}, id {}").format(column, direction, direction)
        )
        self.query: sql.Composed = sql.SQL("SELECT {} FROM products{} ORDER BY {} LIMIT %(limit)s").format(
            COLUMNS, _where_sql(clauses), order
        )
        if cursor is None and offset:
            self.params["offset"] = offset
            self.query += sql.SQL(" OFFSET %(offset)s")

    def ordered(self, rows: list[Product]) -> list[Product]:
        """The rows the query returned, in ``sort`` order."""
        return rows[::-1] if self.backwards else rows


class Counting:
    """Counting products: exact for every product (O(1)), exact up to a cap for a filter, else estimated.

    For a filter, the planner's estimate comes first (planning only): when it is far above the cap,
    counting even up to the cap would walk thousands of matches (a common word: a bitmap of tens of
    thousands of rows, ~70 ms on 1M products), so the estimate is the answer. Otherwise the matches
    are counted up to the cap, and the estimate is used only past it.
    """

    ESTIMATE_TRUSTED_ABOVE = 10
    """How many times the cap an estimate must reach to be given without counting."""

    def __init__(self, criteria: SearchCriteria | None, exact_up_to: int) -> None:
        self._exact_up_to = exact_up_to
        self.params: dict[str, Any] = {}
        self._where = _where_sql(_where(criteria, self.params))
        self.everything = criteria is None

    async def total(self, conn: AsyncConnection[Any]) -> Total:
        """The total, on ``conn``."""
        everything = await self._catalogue(conn)
        if self.everything:
            return Total(everything, exact=True)
        explain = sql.SQL("EXPLAIN (FORMAT JSON) SELECT 1 FROM products{}").format(self._where)
        row = await (await conn.execute(explain, self.params)).fetchone()
        estimate = min(int(row[0][0]["Plan"]["Plan Rows"]) if row else 0, everything)
        if estimate > self.ESTIMATE_TRUSTED_ABOVE * self._exact_up_to:
            return Total(estimate, exact=False)
        capped = sql.SQL("SELECT count(*) FROM (SELECT 1 FROM products{} LIMIT %(cap)s) AS matched")
        row = await (
            await conn.execute(capped.format(self._where), {**self.params, "cap": self._exact_up_to + 1})
        ).fetchone()
        counted = int(row[0]) if row else 0
        if counted <= self._exact_up_to:
            return Total(counted, exact=True)
        return Total(max(counted, estimate), exact=False)

    @staticmethod
    async def _catalogue(conn: AsyncConnection[Any]) -> int:
        """Every product, counted exactly and cheaply (kept by triggers)."""
        row = await (await conn.execute(_TOTAL)).fetchone()
        return int(row[0]) if row else 0
