"""The bench database (seeded with ``productcore seed``), the write key, and the request files of a run."""

from __future__ import annotations

import json
import os
import random
import subprocess
import time
import urllib.request
from decimal import Decimal
from pathlib import Path

import psycopg
import redis
from psycopg import sql
from psycopg.conninfo import make_conninfo

from harness.contenders import executable

HOT = 10_000
COMMON_WORDS = ("kettle", "chair", "mug", "blender", "toaster")


def database_url(server_url: str, name: str) -> str:
    return make_conninfo(server_url, dbname=name)


def _rows(url: str) -> int | None:
    try:
        with psycopg.connect(url, connect_timeout=5) as conn:
            row = conn.execute("SELECT row_count FROM product_stats").fetchone()
            return int(row[0]) if row else None
    except psycopg.Error:
        return None


def prepare(server_url: str, name: str, count: int, reuse: bool, env: dict[str, str]) -> tuple[str, str]:
    """Return the bench database's URL and how it was made: reused when allowed and complete, else seeded."""
    url = database_url(server_url, name)
    if reuse and _rows(url) == count:
        return url, f"reused {name} ({count:,} rows)"
    drop(server_url, name)
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    started = time.monotonic()
    seed = [executable("productcore"), "seed", "--count", str(count)]
    subprocess.run(seed, env=os.environ | env | {"PRODUCTCORE_DATABASE_URL": url}, check=True)
    seeded = time.monotonic() - started
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "VACUUM (ANALYZE) products"
        )  # the steady state: visibility map set, no autovacuum mid-run
    return url, f"seeded {count:,} rows with `productcore seed` in {seeded:.0f} s"


def drop(server_url: str, name: str) -> None:
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def forget_keys(redis_url: str, prefix: str) -> None:
    """Delete every Redis key under ``prefix`` (this harness's own keys only)."""
    client = redis.Redis.from_url(redis_url)
    try:
        batch = []
        for key in client.scan_iter(match=f"{prefix}*", count=1000):
            batch.append(key)
            if len(batch) >= 1000:
                client.delete(*batch)
                batch.clear()
        if batch:
            client.delete(*batch)
    finally:
        client.close()


def write_key(env: dict[str, str]) -> tuple[str, str]:
    """A write API key made with ``productcore keys create``: the token and its PRODUCTCORE_API_KEYS entry."""
    command = [executable("productcore"), "keys", "create", "bench", "--scope", "write", "--json"]
    made = json.loads(subprocess.run(command, env=os.environ | env, capture_output=True, check=True).stdout)
    return made["key"], made["config_entry"]


def request_files(url: str, count: int, folder: Path) -> dict[str, Path]:
    """Files of request paths: the hot ids, rare model codes, common words and price ranges."""
    rng = random.Random(8)
    with psycopg.connect(url) as conn:
        ids = rng.sample(range(HOT + 1, count + 1), 200)
        names = conn.execute("SELECT name FROM products WHERE id = ANY(%s)", [ids]).fetchall()
    codes = [name.rsplit(" ", 1)[1] for (name,) in names]
    prices = [Decimal(rng.randrange(1000, 20000)) / 100 for _ in range(200)]
    paths = {
        "hot": [f"/products/{i}" for i in range(1, HOT + 1)],
        "rare": [f"/products/search?name={code}" for code in codes],
        "common": [f"/products/search?name={word}" for word in COMMON_WORDS],
        "price": [f"/products/search?min_price={p}&max_price={p + 5}" for p in prices],
        "first": ["/products?page=1&limit=20"],
        "offset": ["/products?page=25000&limit=20"],
    }
    files = {}
    for key, lines in paths.items():
        files[key] = folder / f"{key}.txt"
        files[key].write_text("\n".join(lines) + "\n")
    return files


def cursor_file(service_url: str, folder: Path) -> Path:
    """The ``links.next`` of page 25,000 (rows 499,981-500,000), asked of the service once."""
    with urllib.request.urlopen(f"{service_url}/products?page=25000&limit=20", timeout=30) as response:
        following = json.load(response)["links"]["next"]
    path = following if following.startswith("/") else "/" + following.split("/", 3)[3]
    file = folder / "cursor.txt"
    file.write_text(path + "\n")
    return file
