"""Cost of the two rate-limit strategies: time per decision, script calls, Redis memory per client.

Decisions go through the service's own limiter (``adapters.ratelimit.open_limiter``: batched Lua
decisions with leases). Three figures per strategy and quota:

- a lone decision: one client's requests one after another, each awaited (the round trip a request
  pays when the service is idle);
- under load: 2,000 decisions at once from 200 clients, per decision: wall time and script calls
  (what batching saves; the limiter makes the same calls whatever the HTTP server);
- Redis ``MEMORY USAGE`` of one client's budget once it has spent its whole quota.

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

from adapters.ratelimit import STRATEGIES, Policy, Strategy, open_limiter


@contextlib.contextmanager
def redis_server(url: str | None) -> Iterator[str]:
    """The given URL, or an embedded Valkey for the length of the run."""
    if url:
        yield url
        return
    from adapters.embedded.redis import embedded_redis

    with embedded_redis() as embedded:
        yield embedded


async def run_case(redis_url: str, strategy: Strategy, quota: int) -> dict[str, float]:
    """Figures of one strategy and quota (see the module docstring)."""
    prefix = f"bench-{uuid.uuid4().hex[:8]}"
    policy = Policy.parse("read", f"{quota}/minute")
    async with open_limiter(redis_url, strategy=strategy, key_prefix=prefix, store_timeout=5) as limiter:
        budgets = limiter.shared
        assert budgets is not None
        timings = []
        for _ in range(min(quota, 1000)):
            start = time.perf_counter()
            await limiter.hit(policy, "lone")
            timings.append(time.perf_counter() - start)
        calls_before = budgets.batches_sent
        start = time.perf_counter()
        await asyncio.gather(*(limiter.hit(policy, f"addr:10.0.0.{n % 200}") for n in range(2000)))
        loaded = (time.perf_counter() - start) / 2000
        calls = (budgets.batches_sent - calls_before) / 2000
        for _ in range(quota):
            await limiter.hit(policy, "full")
        full_key = budgets.key(policy.name, "full")
    client = redis.Redis.from_url(redis_url)
    size = await client.memory_usage(full_key) or 0
    async for key in client.scan_iter(match=f"{prefix}*", count=1000):
        await client.delete(key)
    await client.aclose()
    timings.sort()
    return {
        "lone mean µs": statistics.fmean(timings) * 1e6,
        "lone p99 µs": timings[int(len(timings) * 0.99)] * 1e6,
        "loaded µs": loaded * 1e6,
        "calls/decision": calls,
        "bytes/client": size,
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--redis-url", help="Redis to measure against (default: an embedded Valkey)")
    args = parser.parse_args()
    with redis_server(args.redis_url) as url:
        print(
            "| strategy | quota/min | lone µs (mean / p99) | loaded µs per decision | script calls per decision | Redis bytes per client |"
        )
        print("| --- | ---: | ---: | ---: | ---: | ---: |")
        for quota in (100, 1000, 10_000):
            for strategy in STRATEGIES:
                f = await run_case(url, strategy, quota)
                print(
                    f"| {strategy} | {quota:,} | {f['lone mean µs']:.0f} / {f['lone p99 µs']:.0f} "
                    f"| {f['loaded µs']:.1f} | {f['calls/decision']:.3f} | {f['bytes/client']:,.0f} |"
                )


if __name__ == "__main__":
    asyncio.run(main())
