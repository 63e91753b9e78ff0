"""Read throughput through deploy/nginx/ with 1, 2 and 3 ``productcore serve`` instances, and each
instance's memory and CPU, measured in one run.

Three instances start on the given PostgreSQL and Redis (budgets far above what the run spends, so
every request pays for a full rate-limit decision and none is refused); three nginx servers are
rendered from the deployed template, in front of the first 1, 2 and 3 of them. ``wrk`` then reads
random products (ids 1..100, all cached after a warm-up) through each in alternating rounds, so
drift on the machine hits every size alike, and once from a single instance directly for
reference. While the load runs, the instances' RSS and CPU are sampled with psutil.

    python bench/nginx_throughput.py --database-url postgresql://postgres@127.0.0.1:5432/postgres \\
        --redis-url redis://127.0.0.1:6379/0
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from contextlib import ExitStack
from pathlib import Path

import psutil
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the tests' nginx harness

from tests.integration.nginx.cluster import Instance, start_instance, start_nginx

from adapters.postgres import migrate

PRODUCTS = 100
WRK_SCRIPT = f"""
math.randomseed(os.time())
request = function() return wrk.format("GET", "/products/" .. math.random(1, {PRODUCTS})) end
response = function(status) if status ~= 200 then io.write("status " .. status .. "\\n") end end
"""


def ensure_products(url: str) -> None:
    """Migrate, and add products until there are at least ``PRODUCTS``."""
    asyncio.run(migrate(url))
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute("SELECT count(*) FROM products").fetchone()
        missing = PRODUCTS - (row[0] if row else 0)
        if missing > 0:
            conn.execute(
                "INSERT INTO products (name, price, stock) "
                "SELECT 'Bench product ' || n, 10.00, 5 FROM generate_series(1, %s) n",
                (missing,),
            )


def wrk(url: str, script: Path, seconds: int, connections: int) -> tuple[float, str, str]:
    """Requests per second, p50 and p99 latency of one wrk run; every response must be 200."""
    command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(script), url]
    out = subprocess.run(command, capture_output=True, text=True, check=True, timeout=seconds + 60).stdout
    if "Non-2xx" in out or "Socket errors" in out:
        statuses = Counter(line for line in out.splitlines() if line.startswith("status "))
        raise AssertionError(
            f"{url}: {dict(statuses)}\n"
            + "\n".join(line for line in out.splitlines() if not line.startswith("status "))
        )
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = re.search(r"\s50%\s+(\S+)", out).group(1)  # type: ignore[union-attr]
    p99 = re.search(r"\s99%\s+(\S+)", out).group(1)  # type: ignore[union-attr]
    return rate, p50, p99


def _worker(main: psutil.Process) -> psutil.Process:
    """The process that serves: the youngest descendant of ``main`` (its granian worker), else ``main``."""
    children = main.children(recursive=True)
    return max(children, key=lambda child: child.create_time()) if children else main


class Sampler(threading.Thread):
    """Samples the instances' RSS (MiB) and CPU (cores) every 0.5 s until stopped."""

    def __init__(self, instances: list[Instance]) -> None:
        super().__init__(daemon=True)
        # The granian worker serving each instance (a child of serve's main process).
        self.processes = [_worker(psutil.Process(i.process.pid)) for i in instances]
        self.rss: list[list[float]] = [[] for _ in instances]
        self.cpu: list[list[float]] = [[] for _ in instances]
        self.done = threading.Event()
        self.gone: set[int] = set()

    def run(self) -> None:
        for process in self.processes:
            process.cpu_percent()
        while not self.done.wait(0.5):
            for n, process in enumerate(self.processes):
                try:
                    self.rss[n].append(process.memory_info().rss / 2**20)
                    self.cpu[n].append(process.cpu_percent() / 100)
                except psutil.NoSuchProcess:
                    if n not in self.gone:
                        self.gone.add(n)
                        print(f"instance {n} (pid {process.pid}) exited during the run", file=sys.stderr)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--redis-url", required=True)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed (apt-get install wrk)")
    ensure_products(args.database_url)
    run = uuid.uuid4().hex[:8]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRODUCTCORE_")}
    env |= {
        "PRODUCTCORE_DATABASE_URL": args.database_url,
        "PRODUCTCORE_REDIS_URL": args.redis_url,
        "PRODUCTCORE_CACHE_KEY_PREFIX": f"productcore-bench-{run}:cache",
        "PRODUCTCORE_RATE_LIMIT_KEY_PREFIX": f"productcore-bench-{run}:ratelimit",
        "PRODUCTCORE_RATE_LIMIT_READ": "1000000000/minute",
        "PRODUCTCORE_TRUSTED_PROXIES": "127.0.0.1",
        "PRODUCTCORE_LOG_LEVEL": "warning",
    }
    with tempfile.TemporaryDirectory(prefix="productcore-bench-nginx-") as tmp, ExitStack() as stack:
        workdir = Path(tmp)
        script = workdir / "random_product.lua"
        script.write_text(WRK_SCRIPT)
        instances = []
        for _ in range(3):
            instance = start_instance(env, workdir)
            stack.callback(instance.stop)
            instances.append(instance)
        deadline = time.monotonic() + 90
        while not all(i.ready() for i in instances):
            assert time.monotonic() < deadline, "instances not ready in 90 s"
            time.sleep(0.2)
        idle = [_worker(psutil.Process(i.process.pid)).memory_info().rss / 2**20 for i in instances]
        for instance in instances:  # fill every L1
            with instance.client() as http:
                for product in range(1, PRODUCTS + 1):
                    assert http.get(f"/products/{product}").status_code == 200
        warm = [_worker(psutil.Process(i.process.pid)).memory_info().rss / 2**20 for i in instances]
        fronts = {
            n: stack.enter_context(start_nginx(workdir / f"nginx-{n}", instances[:n])) for n in (1, 2, 3)
        }
        sampler = Sampler(instances)
        sampler.start()
        results: dict[str, list[tuple[float, str, str]]] = {}
        for _ in range(args.rounds):
            direct = f"http://{instances[0].address}"
            results.setdefault("direct, 1 instance", []).append(
                wrk(direct, script, args.seconds, args.connections)
            )
            for n, nginx in fronts.items():
                url = f"http://127.0.0.1:{nginx.port}"
                results.setdefault(f"nginx, {n} instance(s)", []).append(
                    wrk(url, script, args.seconds, args.connections)
                )
        sampler.done.set()
        sampler.join()
    print(
        f"\nwrk -t2 -c{args.connections} -d{args.seconds}s, {args.rounds} rounds, GET /products/<1..{PRODUCTS}>"
    )
    print("| path | req/s (median) | req/s (rounds) | p50 | p99 |")
    print("| --- | ---: | --- | ---: | ---: |")
    for name, runs in results.items():
        rates = [r for r, _, _ in runs]
        median = statistics.median(rates)
        p50, p99 = runs[rates.index(median)][1:] if median in rates else runs[0][1:]
        print(f"| {name} | {median:,.0f} | {', '.join(f'{r:,.0f}' for r in rates)} | {p50} | {p99} |")
    print(
        "\nper instance: RSS idle / after warm-up / max under load (MiB); CPU under load (cores, p50 / max)"
    )
    for n in range(3):
        cpu = sorted(sampler.cpu[n])
        print(
            f"  instance {n + 1}: {idle[n]:.0f} / {warm[n]:.0f} / {max(sampler.rss[n]):.0f} MiB; "
            f"CPU {statistics.median(cpu):.2f} / {max(cpu):.2f}"
        )
    print(
        f"machine: {os.cpu_count()} cores, {psutil.cpu_count(logical=False)} physical; load average {os.getloadavg()}"
    )


if __name__ == "__main__":
    main()
