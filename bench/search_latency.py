"""Search latency at catalogue scale: seeds the catalogue, shows the plans and times HTTP searches.

Usage: python bench/search_latency.py [--count 1000000] [--rounds 200]
Uses PRODUCTCORE_DATABASE_URL when set, else an embedded PostgreSQL in a temporary directory.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from litestar.testing import AsyncTestClient

from adapters.embedded import embedded_postgres
from adapters.postgres import migrate
from adapters.postgres.bulk import load_products
from entrypoints.cli.demo_data import demo_products
from entrypoints.http import create_app
from entrypoints.settings import Settings


@contextmanager
def database() -> Iterator[str]:
    url = os.environ.get("PRODUCTCORE_DATABASE_URL")
    if url:
        yield url
        return
    with (
        tempfile.TemporaryDirectory(prefix="productcore-bench-") as data,
        embedded_postgres(Path(data) / "pg") as url,
    ):
        yield url


def ensure_rows(url: str, count: int) -> None:
    with psycopg.connect(url) as conn:
        have = conn.execute("SELECT row_count FROM product_stats").fetchone()[0]  # type: ignore[index]
    if have < count:
        started = time.perf_counter()
        load_products(url, demo_products(count - have, seed=have), expected_rows=count - have)
        print(f"seeded {count - have:,} rows in {time.perf_counter() - started:.1f}s")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE products")


def sample(url: str, n: int) -> list[tuple[int, str]]:
    """Ids and model codes (the rare last word of demo names) of ``n`` products."""
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT id, split_part(name, ' ', -1) FROM products TABLESAMPLE SYSTEM (1) LIMIT %s", (n,)
        ).fetchall()
    return [(r[0], r[1]) for r in rows]


def show_plan(url: str, code: str) -> None:
    with psycopg.connect(url) as conn:
        plan = conn.execute(
            "EXPLAIN (ANALYZE, BUFFERS) SELECT id, name, description, price, stock, version, created_at, updated_at "
            "FROM products WHERE name ILIKE %s ORDER BY id ASC LIMIT 21",
            (f"%{code}%",),
        ).fetchall()
    print(f"\nplan for name ILIKE '%{code}%':")
    for (line,) in plan:
        print("   ", line)


async def time_requests(url: str, paths: list[str], rounds: int) -> list[float]:
    settings = Settings.from_env({}, database_url=url, migrate_on_start=False, rate_limit_enabled=False)
    timings = []
    async with AsyncTestClient(app=create_app(settings)) as client:
        for path in paths[:20]:  # warm up plans and the pool
            await client.get(path)
        for i in range(rounds):
            path = paths[i % len(paths)]
            started = time.perf_counter()
            response = await client.get(path)
            timings.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, response.text
    return timings


def report(label: str, timings: list[float]) -> None:
    timings = sorted(timings)
    p = lambda q: timings[min(len(timings) - 1, int(q * len(timings)))]  # noqa: E731
    print(
        f"{label:<44} n={len(timings):<5} p50={p(0.5):6.2f} ms  p95={p(0.95):6.2f} ms  max={timings[-1]:6.2f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args()
    with database() as url:
        asyncio.run(migrate(url))
        ensure_rows(url, args.count)
        sampled = sample(url, 200)
        codes = [code for _, code in sampled]
        show_plan(url, codes[0])
        print()
        cases = {
            "search name=<rare model code>": [f"/products/search?name={c}" for c in codes],
            "search name=<rare code>&max_price=5000": [
                f"/products/search?name={c}&max_price=5000" for c in codes
            ],
            "search min_price=100&max_price=100.50": ["/products/search?min_price=100&max_price=100.50"],
            "search name=kettle (common word)": ["/products/search?name=kettle"],
            "get /products/{id} (cache warm after 1st)": [f"/products/{i}" for i, _ in sampled],
            "list page 1 (limit 20)": ["/products?limit=20"],
            "list page 40000 by offset": ["/products?page=40000&limit=20"],
        }
        for label, paths in cases.items():
            report(label, asyncio.run(time_requests(url, paths, args.rounds)))


if __name__ == "__main__":
    main()
