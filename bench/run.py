"""The benchmark harness of issue 8: productcore against the usual stack and the HTTP ceiling.

Seeds a database with ``productcore seed``, starts every contender (``productcore serve`` as the
README runs it, the FastAPI reference and bare Litestar ceilings, one worker each), drives them with
wrk in interleaved rounds, and writes bench/results/latest.{md,json,png}. ``nox -s bench`` runs it;
``python bench/run.py --help`` lists the options (short runs: ``--rounds 2 --seconds 2``).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

from harness import contenders, data, datatier, memory, publish
from harness.machine import describe
from harness.runner import PACED_CONNECTIONS, Runner, say
from harness.scenarios import SCENARIOS, Plan

BENCH = Path(__file__).resolve().parent


def options() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    env = os.environ.get
    parser.add_argument(
        "--database-url",
        default=env("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"),
        help="a PostgreSQL server to create the bench database on (env BENCH_DATABASE_URL)",
    )
    parser.add_argument("--redis-url", default=env("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0"))
    parser.add_argument("--database-name", default="productcore_bench")
    parser.add_argument("--count", type=int, default=1_000_000, help="products to seed")
    parser.add_argument(
        "--reuse-data",
        action="store_true",
        help="use the bench database if it has exactly --count products (else seed it), and keep it",
    )
    parser.add_argument(
        "--rounds", type=int, default=5, help="rounds of every scenario; the first is dropped"
    )
    parser.add_argument("--seconds", type=int, default=3, help="length of one wrk run")
    parser.add_argument("--fixed-rounds", type=int, default=3, help="rounds of the fixed-rate runs")
    parser.add_argument("--fixed-seconds", type=int, default=3)
    parser.add_argument("--rate-fraction", type=float, default=0.5, help="of the reference's saturated rate")
    parser.add_argument(
        "--scenarios", help="comma-separated keys (default: all): " + ",".join(s.key for s in SCENARIOS)
    )
    parser.add_argument("--first-port", type=int, default=18100, help="servers listen from this port up")
    parser.add_argument(
        "--granian-loop",
        default="uvloop",
        choices=["asyncio", "rloop", "uvloop", "auto"],
        help="event loop of the granian ceiling (rloop needs `pip install rloop`)",
    )
    parser.add_argument("--skip-data-tier", action="store_true")
    parser.add_argument("--results", type=Path, default=BENCH / "results")
    parser.add_argument("--from-json", type=Path, help="measure nothing: render a saved latest.json again")
    return parser.parse_args()


def main() -> int:
    args = options()
    if args.from_json:
        return publish.render(json.loads(args.from_json.read_text()), args.results)
    began = time.monotonic()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so the servers are stopped on the way out
    chosen = [s for s in SCENARIOS if not args.scenarios or s.key in args.scenarios.split(",")]
    for name in [name for name in os.environ if name.startswith("PRODUCTCORE_")]:
        del os.environ[name]  # every server gets exactly the settings below
    args.results.mkdir(parents=True, exist_ok=True)
    logs = args.results / "logs"
    logs.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="productcore-bench-") as temporary, ExitStack() as stack:
        work = Path(temporary)
        base = {"PRODUCTCORE_DATA_DIR": str(work / "data"), "PRODUCTCORE_REDIS_URL": args.redis_url}
        data.forget_keys(args.redis_url, "productcore-bench:")
        stack.callback(data.forget_keys, args.redis_url, "productcore-bench:")
        say(f"preparing {args.database_name} ({args.count:,} products)")
        url, provenance = data.prepare(
            args.database_url, args.database_name, args.count, args.reuse_data, base
        )
        if not args.reuse_data:
            stack.callback(data.drop, args.database_url, args.database_name)
        say(provenance)
        machine = describe(url, args.redis_url)
        tier = {}
        if not args.skip_data_tier:
            tier = {
                "redis": datatier.redis_get(args.redis_url, 32, 200_000),
                "postgres": datatier.pg_get(url, 16, 5, args.count),
            }
        token, entry = data.write_key(base)
        base |= {"PRODUCTCORE_DATABASE_URL": url, "PRODUCTCORE_API_KEYS": entry}
        servers = contenders.lineup(args.first_port, base, url, args.redis_url, args.granian_loop)
        for server in servers.values():
            server.start(logs)
            stack.callback(server.stop)
        for server in servers.values():
            server.wait_ready()
        files = data.request_files(url, args.count, work)
        files["cursor"] = data.cursor_file(servers["ours"].url, work)
        runner = Runner(servers, Plan(files, token, args.count, args.rounds), args.seconds)
        runs = runner.saturated(chosen, args.rounds)
        paced = runner.fixed_rate(chosen, runs, args.rate_fraction, args.fixed_rounds, args.fixed_seconds)
        say("memory: filling one worker's L1 with 100,000 products")
        memory_figures = memory.measure(servers["ours-l1-100k"])
        rss = {name: server.worker_rss_bytes() for name, server in servers.items()}
    raw = {
        "settings": vars(args)
        | {"elapsed_s": time.monotonic() - began, "data": provenance, "paced_connections": PACED_CONNECTIONS},
        "machine": machine,
        "saturated": runs,
        "fixed_rate": paced,
        "data_tier": tier,
        "rss_bytes": rss,
        "memory": memory_figures,
    }
    (args.results / "latest.json").write_text(json.dumps(raw, indent=1, default=str) + "\n")
    return publish.render(json.loads(json.dumps(raw, default=str)), args.results)


if __name__ == "__main__":
    sys.exit(main())
