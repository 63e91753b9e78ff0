"""Read throughput with rate limiting on (budgets in Redis) and off, measured in one run.

Each mode is its own uvicorn process (one worker, no access log) on the same database; the load
generator sends ``GET /products/{id}`` from this process with a fixed concurrency, in alternating
rounds so drift on the machine hits every mode alike. The budget is set far above what the run
can spend, so every request pays for a full decision (``hit`` and window stats) and none is refused.

    python bench/ratelimit_overhead.py --database-url postgresql://postgres@127.0.0.1:5432/postgres \\
        --redis-url redis://127.0.0.1:6379/0
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

import httpx
import psycopg

from adapters.postgres import migrate


def free_port() -> int:
    """A loopback port nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def server(database_url: str, **settings: str) -> Iterator[str]:
    """Run the app under uvicorn in a subprocess with ``PRODUCTCORE_*`` settings; yield its URL."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRODUCTCORE_")}
    env |= {"PRODUCTCORE_DATABASE_URL": database_url, "PRODUCTCORE_MIGRATE_ON_START": "false"}
    env |= {f"PRODUCTCORE_{name.upper()}": value for name, value in settings.items()}
    command = [sys.executable, "-m", "uvicorn", "entrypoints.http.app:create_app", "--factory"]
    command += ["--port", str(port), "--no-access-log", "--log-level", "warning", "--http", "h11"]
    process = subprocess.Popen(command, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/health/live", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"server for {settings} did not start")
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


async def load(url: str, path: str, seconds: float, concurrency: int) -> float:
    """Requests per second for ``seconds`` of ``concurrency`` clients in a loop; all must be 200."""
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, limits=limits) as client:
        stop = time.perf_counter() + seconds
        done = 0

        async def worker() -> None:
            nonlocal done
            while time.perf_counter() < stop:
                response = await client.get(path)
                assert response.status_code == 200, response.text
                done += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return done / (time.perf_counter() - started)


def wrk_load(url: str, path: str, seconds: float, concurrency: int) -> float:
    """Requests per second that wrk (one thread, ``concurrency`` connections) gets; non-2xx fail."""
    command = ["wrk", "-t1", f"-c{concurrency}", f"-d{seconds:g}s", f"{url}{path}"]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    assert "Non-2xx" not in output, output
    return float(re.search(r"Requests/sec:\s+([\d.]+)", output)[1])  # type: ignore[index]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--database-url", default=os.environ.get("PRODUCTCORE_DATABASE_URL"))
    parser.add_argument("--redis-url", default=os.environ.get("PRODUCTCORE_REDIS_URL"))
    parser.add_argument("--seconds", type=float, default=5.0, help="length of one round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument(
        "--httpx", action="store_true", help="load with httpx from this process even if wrk exists"
    )
    args = parser.parse_args()
    if not args.database_url or not args.redis_url:
        parser.error("give --database-url and --redis-url (or PRODUCTCORE_DATABASE_URL and _REDIS_URL)")
    asyncio.run(migrate(args.database_url))
    with psycopg.connect(args.database_url, autocommit=True) as conn:
        row = conn.execute(
            "INSERT INTO products (name, price, stock) VALUES ('bench product', 9.99, 1) RETURNING id"
        ).fetchone()
    assert row is not None
    path = f"/products/{row[0]}"
    ample = {"rate_limit_read": "1000000000/minute", "rate_limit_key_prefix": f"bench-{uuid.uuid4().hex[:8]}"}
    # Both modes cache in the same Redis (the limiter shares the cache's server), so they differ
    # only in the rate limit decision each request pays for.
    shared = {"redis_url": args.redis_url, "cache_key_prefix": f"bench-{uuid.uuid4().hex[:8]}:cache"}
    modes = {"off": {**shared, "rate_limit_enabled": "false"}, "on (redis)": {**shared, **ample}}
    results: dict[str, list[float]] = {mode: [] for mode in modes}
    with ExitStack() as stack:
        urls = {
            mode: stack.enter_context(server(args.database_url, **settings))
            for mode, settings in modes.items()
        }
        use_wrk = shutil.which("wrk") is not None and not args.httpx

        def measure(url: str, seconds: float) -> float:
            if use_wrk:
                return wrk_load(url, path, seconds, args.concurrency)
            return asyncio.run(load(url, path, seconds, args.concurrency))

        for url in urls.values():
            measure(url, 1.0)  # warm up pools and caches
        for _ in range(args.rounds):
            for mode, url in urls.items():
                results[mode].append(measure(url, args.seconds))
    baseline = statistics.median(results["off"])
    tool = "wrk" if use_wrk else "httpx"
    print(f"GET {path}, {tool}, {args.concurrency} connections, {args.rounds} rounds of {args.seconds:g} s")
    for mode, rates in results.items():
        median = statistics.median(rates)
        print(f"  limiting {mode:12} {median:8.0f} req/s  (ratio to off: {median / baseline:.3f})")


if __name__ == "__main__":
    main()
