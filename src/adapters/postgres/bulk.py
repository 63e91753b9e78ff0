"""Bulk loading with COPY: all rows of one load commit together or not at all."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal

import psycopg
from psycopg import sql

_COPY = "COPY products (name, description, price, stock) FROM STDIN"
_BATCH_ROWS = 20_000
_PROGRESS_ROWS = 1_000
"""Rows between two progress reports (COPY is still written in batches of ``_BATCH_ROWS``)."""

# Below this many rows, maintaining the indexes row by row is cheaper than rebuilding them.
REBUILD_INDEXES_FROM = 200_000

# A load that adds at least this fraction of the rows already there is followed by ANALYZE
# (autovacuum's default analyze_scale_factor, but now instead of within a minute or so).
ANALYZE_FROM_GROWTH = 0.1

_SECONDARY_INDEXES = """
SELECT i.relname, pg_get_indexdef(i.oid)
FROM pg_index x
JOIN pg_class i ON i.oid = x.indexrelid
WHERE x.indrelid = 'products'::regclass AND NOT x.indisprimary
ORDER BY i.relname
"""


@dataclass(frozen=True, slots=True)
class ProductRow:
    """One product to insert; the database assigns id, version and timestamps."""

    name: str
    description: str | None
    price: Decimal
    stock: int


class Rejected(Exception):
    """Raised inside a load's transaction to roll it back after bad rows were found."""


def _text(value: str | None) -> str:
    if value is None:
        return "\\N"
    return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def _line(row: ProductRow) -> str:
    return f"{_text(row.name)}\t{_text(row.description)}\t{row.price}\t{row.stock}\n"


def load_products(
    conninfo: str,
    rows: Iterable[ProductRow | None],
    *,
    expected_rows: int = 0,
    progress: Callable[[int], None] = lambda _: None,
    commit: Callable[[], bool] = lambda: True,
    stage: Callable[[str], None] = lambda _: None,
) -> int:
    """COPY ``rows`` into ``products`` in one transaction and return how many were written.

    ``None`` items are skipped (a caller's marker for a rejected row, so progress still counts
    it). After the last row, ``commit()`` decides whether the load commits or rolls back. A first
    load into an empty table of at least ``REBUILD_INDEXES_FROM`` expected rows drops the
    secondary indexes and rebuilds them in the same transaction, about twice as fast; into a
    table that has rows, indexes are maintained as rows arrive, so readers are never locked out.
    A committed load that grows the table by ``ANALYZE_FROM_GROWTH`` or more is followed by
    ``ANALYZE``, so the planner's estimates (and estimated search totals) match the new contents.
    ``progress`` is told of every 1,000 rows read; ``stage`` names the steps after the last row
    ("rebuilding indexes", "analyzing").
    """
    written = 0
    with psycopg.connect(conninfo) as conn:
        try:
            with conn.transaction():
                conn.execute("SET LOCAL maintenance_work_mem = '256MB'")
                before = _row_count(conn)
                big_first_load = expected_rows >= REBUILD_INDEXES_FROM and before == 0
                rebuild = _drop_indexes(conn) if big_first_load else []
                with conn.cursor().copy(_COPY) as copy:
                    batch: list[str] = []
                    seen = 0
                    for row in rows:
                        seen += 1
                        if row is not None:
                            batch.append(_line(row))
                            written += 1
                        if seen % _PROGRESS_ROWS == 0:
                            progress(_PROGRESS_ROWS)
                            if seen == _BATCH_ROWS:
                                copy.write("".join(batch))
                                batch.clear()
                                seen = 0
                    copy.write("".join(batch))
                    progress(seen % _PROGRESS_ROWS)
                if rebuild:
                    stage("rebuilding indexes")
                for statement in rebuild:
                    conn.execute(statement)
                if not commit():
                    raise Rejected
        except Rejected:
            return 0
        if written and written >= ANALYZE_FROM_GROWTH * before:
            # Fresh statistics: without them, estimated search totals (and so `last` links) are
            # far off until autovacuum gets round to the table.
            stage("analyzing")
            conn.execute("ANALYZE products")
    return written


def _row_count(conn: psycopg.Connection) -> int:
    row = conn.execute("SELECT row_count FROM product_stats").fetchone()
    return int(row[0]) if row else 0


def _drop_indexes(conn: psycopg.Connection) -> list[sql.SQL]:
    """Drop the secondary indexes of ``products``; return the statements that recreate them."""
    definitions = conn.execute(_SECONDARY_INDEXES).fetchall()
    for name, _ in definitions:
        conn.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(name)))
    # The definitions come from the catalogue (pg_get_indexdef), not from any input.
    return [sql.SQL(definition) for _, definition in definitions]
