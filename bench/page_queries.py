"""A page's rows and total: two pooled connections at once, or one connection (in turn, or pipelined).

Usage: PRODUCTCORE_DATABASE_URL=postgresql://... python bench/page_queries.py [--rounds 200] [--clients 16]
The database must hold a seeded catalogue (``productcore seed --count 1000000``). Prints, per page
kind and way, the median and p99 time of one page alone, and pages per second with ``--clients``
concurrent clients over a pool of 10 connections.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

from psycopg.rows import class_row
from psycopg_pool import AsyncConnectionPool

from adapters.postgres import PoolSettings, open_pool
from adapters.postgres.pages import Counting, Window
from productcore.model import Product, SearchCriteria, Sort

Page = Callable[[], Awaitable[Any]]


def kinds() -> dict[str, tuple[SearchCriteria | None, Sort, int]]:
    return {
        "all, by id": (None, Sort.ID, 0),
        "all, by -price": (None, Sort.PRICE_DESC, 0),
        "all, by name, page 500": (None, Sort.NAME, 500 * 20),
        "name 'kettle' (~3%)": (SearchCriteria(name="kettle"), Sort.ID, 0),
        "price 10..20": (SearchCriteria(min_price=Decimal("10"), max_price=Decimal("20")), Sort.PRICE, 0),
        "name 'zzz' (none)": (SearchCriteria(name="zzzq"), Sort.ID, 0),
    }


def ways(
    pool: AsyncConnectionPool, criteria: SearchCriteria | None, sort: Sort, offset: int
) -> dict[str, Page]:
    async def fetch() -> list[Product]:
        window = Window(criteria, sort, 21, offset, None)
        async with pool.connection() as conn:
            cur = conn.cursor(row_factory=class_row(Product))
            await cur.execute(window.query, window.params)
            return await cur.fetchall()

    async def count() -> Any:
        counting = Counting(criteria, 1000)
        async with pool.connection() as conn:
            cur = await conn.execute(counting.query, counting.params)
            return await counting.total(conn, await cur.fetchone())

    async def two_connections() -> Any:
        return await asyncio.gather(fetch(), count())

    async def one_in_turn() -> Any:
        window, counting = Window(criteria, sort, 21, offset, None), Counting(criteria, 1000)
        async with pool.connection() as conn:
            cur = conn.cursor(row_factory=class_row(Product))
            await cur.execute(window.query, window.params)
            rows = await cur.fetchall()
            counted = await conn.execute(counting.query, counting.params)
            return rows, await counting.total(conn, await counted.fetchone())

    async def one_pipelined() -> Any:
        window, counting = Window(criteria, sort, 21, offset, None), Counting(criteria, 1000)
        async with pool.connection() as conn:
            async with conn.pipeline():
                cur = conn.cursor(row_factory=class_row(Product))
                await cur.execute(window.query, window.params)
                counted = await conn.execute(counting.query, counting.params)
                rows, first = await cur.fetchall(), await counted.fetchone()
            return rows, await counting.total(conn, first)

    return {"two connections": two_connections, "one, in turn": one_in_turn, "one, pipelined": one_pipelined}


async def alone(page: Page, rounds: int) -> tuple[float, float]:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        await page()
        times.append(time.perf_counter() - started)
    times.sort()
    return statistics.median(times), times[int(0.99 * (len(times) - 1))]


async def concurrent(page: Page, clients: int, seconds: float) -> float:
    done = 0
    stop = time.perf_counter() + seconds

    async def client() -> None:
        nonlocal done
        while time.perf_counter() < stop:
            await page()
            done += 1

    await asyncio.gather(*(client() for _ in range(clients)))
    return done / seconds


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args()
    url = os.environ["PRODUCTCORE_DATABASE_URL"]
    async with open_pool(url, PoolSettings(min_size=10, max_size=10, acquire_timeout=30)) as pool:
        print(f"| page | way | alone p50 ms | alone p99 ms | pages/s, {args.clients} clients |")
        print("| --- | --- | ---: | ---: | ---: |")
        for name, (criteria, sort, offset) in kinds().items():
            for way, page in ways(pool, criteria, sort, offset).items():
                await alone(page, 5)  # warm up
                p50, p99 = await alone(page, args.rounds)
                rate = await concurrent(page, args.clients, args.seconds)
                print(f"| {name} | {way} | {p50 * 1000:.2f} | {p99 * 1000:.2f} | {rate:,.0f} |")


if __name__ == "__main__":
    asyncio.run(main())
