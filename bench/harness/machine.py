"""What a run ran on: CPU, kernel, Python, the servers' and libraries' versions, the commit."""

from __future__ import annotations

import os
import platform
import subprocess
from importlib import metadata
from pathlib import Path

import psycopg
import redis

PACKAGES = (
    "productcore", "litestar", "uvicorn", "granian", "uvloop", "httptools", "fastapi", "pydantic",
    "redis", "hiredis", "psycopg", "psycopg-pool", "msgspec", "limits",
)  # fmt: skip


def _cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def _command(*args: str) -> str:
    try:
        done = subprocess.run(args, capture_output=True, text=True, timeout=10)
    except OSError:
        return "not installed"
    return (done.stdout or done.stderr).strip().splitlines()[0]


def describe(database_url: str, redis_url: str) -> dict[str, object]:
    """The machine, the servers and the package versions of this run."""
    with psycopg.connect(database_url) as conn:
        row = conn.execute("SHOW server_version").fetchone()
        postgres = str(row[0]) if row else "unknown"
    client = redis.Redis.from_url(redis_url)
    info = client.info("server")
    client.close()
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    commit = _command("git", "-C", str(Path(__file__).parent), "rev-parse", "--short", "HEAD")
    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "postgresql": postgres,
        "redis": f"{info.get('redis_version')} ({info.get('server_name', 'redis')})",
        "wrk": _command("wrk", "-v"),
        "commit": commit,
        "packages": versions,
    }
