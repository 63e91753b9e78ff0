"""Data-tier limits: ``redis-benchmark`` GETs of product-sized values and ``pgbench`` of our get-by-id SQL."""

from __future__ import annotations

import csv
import io
import re
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import redis
from psycopg.conninfo import conninfo_to_dict

from harness.data import HOT, forget_keys

PGBENCH_SCRIPT = Path(__file__).resolve().parent.parent / "pgbench_get_by_id.sql"
PREFIX = "productcore-bench:tier:"
VALUE = b"x" * 290


def redis_get(redis_url: str, connections: int, requests: int) -> dict[str, float]:
    """GET of random keys among ``HOT`` 290-byte values, no pipelining (one round trip per GET)."""
    client = redis.Redis.from_url(redis_url)
    with client.pipeline(transaction=False) as pipe:
        for i in range(HOT):
            pipe.set(f"{PREFIX}{i:012d}", VALUE, ex=600)
        pipe.execute()
    client.close()
    parts = urlsplit(redis_url)
    command = ["redis-benchmark", "-h", parts.hostname or "127.0.0.1", "-p", str(parts.port or 6379)]
    command += ["-c", str(connections), "-n", str(requests), "-r", str(HOT), "--csv"]
    try:
        output = subprocess.run(
            [*command, "GET", f"{PREFIX}__rand_int__"], capture_output=True, text=True, check=True
        ).stdout
    finally:
        forget_keys(redis_url, PREFIX)
    rows = list(csv.DictReader(io.StringIO(output)))
    row = rows[-1]
    return {
        "rps": float(row["rps"]),
        "p50_ms": float(row["p50_latency_ms"]),
        "p99_ms": float(row["p99_latency_ms"]),
    }


def pg_get(database_url: str, connections: int, seconds: int, rows: int) -> dict[str, float]:
    """Our get-by-id statement, prepared, on random ids, replayed by ``pgbench -f``."""
    info = conninfo_to_dict(database_url)
    command = ["pgbench", "-n", "-M", "prepared", "-c", str(connections), "-j", "1", "-T", str(seconds)]
    command += ["-D", f"rows={rows}", "-f", str(PGBENCH_SCRIPT)]
    for option, key in (("-h", "host"), ("-p", "port"), ("-U", "user")):
        if info.get(key):
            command += [option, str(info[key])]
    output = subprocess.run(
        [*command, str(info["dbname"])], capture_output=True, text=True, check=True
    ).stdout
    tps = re.search(r"tps = ([\d.]+)", output)
    latency = re.search(r"latency average = ([\d.]+) ms", output)
    if tps is None or latency is None:
        raise RuntimeError(f"pgbench printed no figures:\n{output}")
    return {"rps": float(tps[1]), "mean_ms": float(latency[1])}


def table(tier: dict[str, dict[str, float]]) -> str:
    """The data tier's figures in markdown (empty when skipped)."""
    if not tier:
        return "(skipped)"
    redis_, postgres = tier["redis"], tier["postgres"]
    return "\n".join(
        [
            "| what | tool | req/s | latency |",
            "|---|---|--:|--:|",
            f"| Redis GET of a 290-byte value, 32 connections | redis-benchmark | {redis_['rps']:,.0f} "
            f"| p50 {redis_['p50_ms']:.2f} ms, p99 {redis_['p99_ms']:.2f} ms |",
            f"| PostgreSQL get-by-id (our statement, prepared), 16 clients | pgbench -f | {postgres['rps']:,.0f} "
            f"| mean {postgres['mean_ms']:.2f} ms |",
        ]
    )
