"""Price and stock updates in batches: the writes of a moment share one statement and one commit.

Every autocommitted write waits for its own WAL flush, so under concurrent writes the database's
commits, not the service's CPU, set the pace. Updates gathered while the previous batch commits go
out as one ``UPDATE ... FROM unnest(...)`` (group commit): each is still conditional and atomic on
its own row, answered only once committed. Ids are locked in ascending order, so batches of several
instances cannot deadlock each other; two writes of one id in a batch run one after the other in one
transaction. A batch that fails for a reason that may be one write's (a value the database refuses)
is retried write by write, so one bad write never fails the others.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from psycopg import AsyncConnection, sql
from psycopg.rows import class_row

from adapters.batching import GroupCommit
from productcore.errors import InvalidInput, ProductNotFound, VersionConflict
from productcore.model import PriceStock, Product

_UPDATE_MANY = sql.SQL(
    "UPDATE products AS p SET price = v.price, stock = v.stock "
    "FROM unnest(%(ids)s::bigint[], %(prices)s::numeric[], %(stocks)s::integer[], %(expected)s::bigint[]) "
    "AS v(id, price, stock, expected) "
    "WHERE p.id = v.id AND (v.expected IS NULL OR p.version = v.expected) "
    "RETURNING p.id, p.name, p.description, p.price, p.stock, p.version, p.created_at, p.updated_at"
)

_VERSIONS = "SELECT id, version FROM products WHERE id = ANY(%(ids)s)"

Connect = Callable[[], Any]
"""An async context manager giving a pooled connection (the repository's, with its breaker)."""


@dataclass(slots=True)
class _Write:
    """One update waiting for its batch."""

    product_id: int
    price: Decimal
    stock: int
    expected: int | None
    waiters: list[asyncio.Future[Any]] = field(default_factory=list)


class BatchedWrites:
    """Updates of price and stock, gathered and committed together.

    Args:
        connection: Opens a pooled connection (as the repository does, behind its breaker).
        single: Applies one update on its own (the fallback when a batch fails).
    """

    def __init__(
        self,
        connection: Connect,
        single: Callable[[int, PriceStock, int | None], Awaitable[Product]],
    ) -> None:
        self._connection = connection
        self._single = single
        self._batches = GroupCommit[_Write](self._run, max_batch=500)
        self._serial = 0

    @property
    def batches_sent(self) -> int:
        """Batches run so far (each one statement per round, one commit)."""
        return self._batches.batches_sent

    async def update(self, product_id: int, change: PriceStock, expected_version: int | None) -> Product:
        """Apply one update in the next batch; return the product as stored, or raise as one update would.

        Raises:
            ProductNotFound: no product has this id.
            VersionConflict: ``expected_version`` is not the current version.
        """
        waiter: asyncio.Future[Product] = asyncio.get_running_loop().create_future()
        self._serial += 1
        write = _Write(product_id, change.price, change.stock, expected_version, [waiter])
        self._batches.entry(str(self._serial), lambda: write)
        return await waiter

    async def _run(self, batch: dict[str, _Write]) -> None:
        writes = list(batch.values())
        try:
            outcomes = await self._apply(writes)
        except InvalidInput:
            for write in writes:  # one write's value may be the one refused: each on its own
                await _settle(
                    write,
                    self._single(write.product_id, PriceStock(write.price, write.stock), write.expected),
                )
            return
        for write, outcome in zip(writes, outcomes, strict=True):
            future = write.waiters[0]
            if future.done():
                continue
            if isinstance(outcome, Exception):
                future.set_exception(outcome)
            else:
                future.set_result(outcome)

    async def _apply(self, writes: list[_Write]) -> list[Product | Exception]:
        """Run the batch in rounds of distinct ids (one round when every id differs), in one transaction."""
        rounds: list[list[int]] = []
        for index, write in enumerate(writes):
            for ids in rounds:
                if all(writes[i].product_id != write.product_id for i in ids):
                    ids.append(index)
                    break
            else:
                rounds.append([index])
        outcomes: list[Product | Exception | None] = [None] * len(writes)
        async with self._connection() as conn:
            if len(rounds) == 1:
                await self._round(conn, writes, rounds[0], outcomes)
            else:
                async with conn.transaction():
                    for ids in rounds:
                        await self._round(conn, writes, ids, outcomes)
        return [o if o is not None else ProductNotFound(writes[i].product_id) for i, o in enumerate(outcomes)]

    async def _round(
        self, conn: AsyncConnection[Any], writes: list[_Write], indexes: list[int], outcomes: list[Any]
    ) -> None:
        chosen = sorted(indexes, key=lambda i: writes[i].product_id)  # one lock order for every batch
        params = {
            "ids": [writes[i].product_id for i in chosen],
            "prices": [writes[i].price for i in chosen],
            "stocks": [writes[i].stock for i in chosen],
            "expected": [writes[i].expected for i in chosen],
        }
        cur = conn.cursor(row_factory=class_row(Product))
        await cur.execute(_UPDATE_MANY, params)
        stored = {product.id: product for product in await cur.fetchall()}
        missing = [writes[i].product_id for i in chosen if writes[i].product_id not in stored]
        versions: dict[int, int] = {}
        if missing:
            rows = await (await conn.execute(_VERSIONS, {"ids": missing})).fetchall()
            versions = {int(row[0]): int(row[1]) for row in rows}
        for i in chosen:
            write = writes[i]
            if write.product_id in stored:
                outcomes[i] = stored[write.product_id]
            elif write.product_id in versions:
                outcomes[i] = VersionConflict(
                    write.product_id, write.expected or 0, versions[write.product_id]
                )
            else:
                outcomes[i] = ProductNotFound(write.product_id)


async def _settle(write: _Write, result: Awaitable[Product]) -> None:
    future = write.waiters[0]
    try:
        product = await result
    except Exception as error:
        if not future.done():
            future.set_exception(error)
    else:
        if not future.done():
            future.set_result(product)
