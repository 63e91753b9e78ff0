"""Benchmark the read path per tier and the invalidation delivery between two instances.

Usage: ``python bench/cache_read_path.py [--reads N] [--rounds N]``. Uses PRODUCTCORE_DATABASE_URL and
PRODUCTCORE_REDIS_URL when set (the database must be one you may write to), else embedded servers.
Prints latencies of: an L1 hit, an L2 hit (L1 off), a PostgreSQL read (cache off), and the time from
a write's acknowledgement on instance A until instance B's L1 has dropped the old version.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
import uuid
from contextlib import AsyncExitStack, ExitStack
from pathlib import Path

import psycopg

from adapters.embedded import embedded_postgres, embedded_redis
from adapters.postgres import migrate
from entrypoints.container import Application, running
from entrypoints.settings import Settings
from productcore.model import PriceStock


def _figures(name: str, seconds: list[float]) -> None:
    ordered = sorted(seconds)
    p = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1e6  # noqa: E731
    print(
        f"{name:<34} n={len(ordered):>6}  p50 {p(0.5):8.1f} us  p99 {p(0.99):8.1f} us  "
        f"mean {statistics.fmean(ordered) * 1e6:8.1f} us"
    )


async def _timed(action, count: int) -> list[float]:  # type: ignore[no-untyped-def]
    out = []
    for _ in range(count):
        started = time.perf_counter()
        await action()
        out.append(time.perf_counter() - started)
    return out


async def main(database_url: str, redis_url: str, reads: int, rounds: int) -> None:
    await migrate(database_url)
    with psycopg.connect(database_url, autocommit=True) as conn:
        row = conn.execute(
            "INSERT INTO products (name, price, stock) VALUES ('bench', 1, 1) RETURNING id"
        ).fetchone()
    assert row is not None
    pid = int(row[0])
    prefix = f"bench:{uuid.uuid4().hex[:8]}"
    base = {
        "database_url": database_url,
        "redis_url": redis_url,
        "cache_key_prefix": prefix,
        "migrate_on_start": False,
    }
    async with AsyncExitStack() as stack:

        async def service(**overrides: object):  # type: ignore[no-untyped-def]
            container = Application(settings=Settings.from_env({}, **{**base, **overrides}))
            runtime = await stack.enter_async_context(running(container))
            return runtime.service, await container.gateways.cache_layer()

        a, _ = await service()
        b, b_layer = await service()
        l2_only, _ = await service(l1_size=0, relay_enabled=False)
        no_cache, _ = await service(cache_enabled=False)
        await a.get_document(pid)
        _figures("L1 hit (service.get_document)", await _timed(lambda: a.get_document(pid), reads))
        _figures("L2 hit (Redis, L1 off)", await _timed(lambda: l2_only.get_document(pid), reads))
        _figures("PostgreSQL read (cache off)", await _timed(lambda: no_cache.get_document(pid), reads))
        near_b = b_layer.near
        assert near_b is not None
        delays = []
        for i in range(rounds):
            await b.get_document(pid)
            product = await a.update(
                pid, PriceStock(price=__import__("decimal").Decimal(i % 100 + 1), stock=i)
            )
            acked = time.perf_counter()
            while (held := near_b.peek(pid)) is not None and held.version < product.version:  # noqa: ASYNC110
                await asyncio.sleep(0)
            delays.append(time.perf_counter() - acked)
        _figures("write ack on A -> B's L1 updated", delays)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reads", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=500)
    args = parser.parse_args()
    with ExitStack() as servers:
        db = os.environ.get("PRODUCTCORE_DATABASE_URL") or servers.enter_context(
            embedded_postgres(Path(servers.enter_context(tempfile.TemporaryDirectory())) / "pg")
        )
        redis = os.environ.get("PRODUCTCORE_REDIS_URL") or servers.enter_context(embedded_redis())
        print(
            f"PostgreSQL: {'configured' if 'PRODUCTCORE_DATABASE_URL' in os.environ else 'embedded'}; "
            f"Redis: {'configured' if 'PRODUCTCORE_REDIS_URL' in os.environ else 'embedded'}"
        )
        asyncio.run(main(db, redis, args.reads, args.rounds))
