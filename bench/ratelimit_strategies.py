"""Cost of the two rate-limit strategies: time per decision and Redis memory per client.

One decision is what the HTTP gate does per request: ``hit`` then ``get_window_stats``. Each client
spends its whole quota (the smallest case goes 20% over it, so refusals are measured too); the
bytes are Redis ``MEMORY USAGE`` of the client's keys at the end.

    python bench/ratelimit_strategies.py                      # embedded Valkey
    python bench/ratelimit_strategies.py --redis-url redis://127.0.0.1:6379/0
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import time
import uuid
from collections.abc import Iterator

import redis.asyncio as redis

from adapters.ratelimit import STRATEGIES, Policy, Strategy, _decide, open_limiter


@contextlib.contextmanager
def redis_server(url: str | None) -> Iterator[str]:
    """The given URL, or an embedded Valkey for the length of the run."""
    if url:
        yield url
        return
    from adapters.embedded.redis import embedded_redis

    with embedded_redis() as embedded:
        yield embedded


async def run_case(
    redis_url: str | None, strategy: Strategy, quota: int, clients: int, requests: int
) -> tuple[float, float, float | None]:
    """Return (mean µs, p99 µs per decision, Redis bytes per client) for one configuration."""
    prefix = f"bench-{uuid.uuid4().hex[:8]}"
    policy = Policy.parse("read", f"{quota}/minute")
    async with open_limiter(redis_url, strategy=strategy, key_prefix=prefix, store_timeout=5) as limiter:
        engine = limiter._shared or limiter._local
        timings = []
        for client in range(clients):
            for _ in range(requests):
                start = time.perf_counter()
                await _decide(engine, policy, f"addr:10.0.{client // 256}.{client % 256}")
                timings.append(time.perf_counter() - start)
    per_client = None
    if redis_url is not None:
        client = redis.Redis.from_url(redis_url)
        total = 0
        async for key in client.scan_iter(match=f"{prefix}*", count=1000):
            total += await client.memory_usage(key) or 0
            await client.delete(key)
        await client.aclose()
        per_client = total / clients
    timings.sort()
    return statistics.fmean(timings) * 1e6, timings[int(len(timings) * 0.99)] * 1e6, per_client


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--redis-url", help="Redis to measure against (default: an embedded Valkey)")
    parser.add_argument("--clients", type=int, default=50, help="distinct clients per case")
    args = parser.parse_args()
    with redis_server(args.redis_url) as url:
        header = ("store", "strategy", "quota/min", "mean µs", "p99 µs", "bytes/client")
        print("{:6} {:24} {:>9} {:>8} {:>8} {:>12}".format(*header))
        for store in ("memory", "redis"):
            for quota, requests, clients in ((100, 120, args.clients), (1000, 1000, 5), (10_000, 10_000, 1)):
                for strategy in STRATEGIES:
                    mean, p99, size = await run_case(
                        url if store == "redis" else None, strategy, quota, clients, requests
                    )
                    bytes_text = f"{size:12.0f}" if size is not None else f"{'-':>12}"
                    print(f"{store:6} {strategy:24} {quota:9} {mean:8.1f} {p99:8.1f} {bytes_text}")


if __name__ == "__main__":
    asyncio.run(main())
