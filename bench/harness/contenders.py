"""The servers of one run: productcore instances, the FastAPI reference and the HTTP ceilings."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from harness.procs import Server

BENCH = Path(__file__).resolve().parent.parent
PEERS = BENCH / "peers"
CACHE_PREFIX = "productcore-bench:cache"
LIMIT_PREFIX = "productcore-bench:ratelimit"
REFERENCE_PREFIX = "productcore-bench:fastapi:"
AMPLE = "1000000000/minute"


def executable(name: str) -> str:
    """A console script of this virtualenv (else from PATH)."""
    beside = Path(sys.executable).with_name(name)
    found = str(beside) if beside.exists() else shutil.which(name)
    if found is None:
        raise SystemExit(f"{name} is not installed: pip install -e '.[bench]'")
    return found


def _environment(base: dict[str, str], **settings: str) -> dict[str, str]:
    env = base | {
        "PRODUCTCORE_CACHE_KEY_PREFIX": CACHE_PREFIX,
        "PRODUCTCORE_RATE_LIMIT_KEY_PREFIX": LIMIT_PREFIX,
        "PRODUCTCORE_RATE_LIMIT_READ": AMPLE,
        "PRODUCTCORE_RATE_LIMIT_WRITE": AMPLE,
    }
    return env | {f"PRODUCTCORE_{key.upper()}": value for key, value in settings.items()}


def productcore_on_uvicorn(name: str, port: int, base: dict[str, str]) -> Server:
    """The same app under uvicorn with uvloop and httptools instead of granian (the server choice)."""
    command = [sys.executable, "-m", "uvicorn", "entrypoints.http.app:create_app", "--factory"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--workers", "1", "--no-access-log"]
    command += ["--loop", "uvloop", "--http", "httptools", "--no-proxy-headers"]
    return Server(name, command, port, _environment(base, migrate_on_start="false"))


def productcore(name: str, port: int, base: dict[str, str], **settings: str) -> Server:
    """``productcore serve`` as the README runs it, one worker, budgets too large to refuse anything."""
    env = _environment(base, **settings)
    command = [
        executable("productcore"),
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
    ]
    return Server(name, command, port, env)


def reference(name: str, port: int, database_url: str, redis_url: str) -> Server:
    """The FastAPI app under uvicorn with uvloop and httptools, one worker, uvicorn's other defaults."""
    command = [sys.executable, "-m", "uvicorn", "peers.fastapi_ref:app", "--app-dir", str(BENCH)]
    command += ["--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
    command += ["--loop", "uvloop", "--http", "httptools"]
    env = {
        "BENCH_DATABASE_URL": database_url,
        "BENCH_REDIS_URL": redis_url,
        "BENCH_CACHE_PREFIX": REFERENCE_PREFIX,
    }
    return Server(name, command, port, env, ready_path="/docs")


def ceiling_granian(name: str, port: int, loop: str) -> Server:
    """The bare Litestar handler under granian (HTTP/1 only, no websockets, no access log)."""
    command = [executable("granian"), "--interface", "asgi", "--host", "127.0.0.1", "--port", str(port)]
    command += ["--workers", "1", "--http", "1", "--no-ws", "--loop", loop, "--working-dir", str(PEERS)]
    return Server(name, [*command, "ceiling:app"], port, ready_path="/products/1")


def ceiling_uvicorn(name: str, port: int) -> Server:
    """The bare Litestar handler under uvicorn with uvloop and httptools, no access log."""
    command = [sys.executable, "-m", "uvicorn", "ceiling:app", "--app-dir", str(PEERS)]
    command += ["--host", "127.0.0.1", "--port", str(port), "--workers", "1", "--no-access-log"]
    command += ["--loop", "uvloop", "--http", "httptools"]
    return Server(name, command, port, ready_path="/products/1")


def lineup(
    first_port: int, base: dict[str, str], database_url: str, redis_url: str, loop: str
) -> dict[str, Server]:
    """Every server of a run, by the name scenarios refer to; ports counted up from ``first_port``."""
    ports = iter(range(first_port, first_port + 100))
    off = {"rate_limit_enabled": "false"}
    no_l1 = {"l1_size": "0"}
    return {
        "ours": productcore("ours", next(ports), base),
        "ours-limiter-off": productcore("ours-limiter-off", next(ports), base, **off),
        "ours-no-l1": productcore("ours-no-l1", next(ports), base, **no_l1),
        "ours-no-l1-limiter-off": productcore("ours-no-l1-limiter-off", next(ports), base, **no_l1, **off),
        "ours-2": productcore("ours-2", next(ports), base),
        "ours-l1-100k": productcore("ours-l1-100k", next(ports), base, l1_size="100000", l1_ttl="3600"),
        "ours-quiet": productcore("ours-quiet", next(ports), base, access_log="false"),
        "ours-uvicorn": productcore_on_uvicorn("ours-uvicorn", next(ports), base),
        "reference": reference("reference", next(ports), database_url, redis_url),
        "reference-2": reference("reference-2", next(ports), database_url, redis_url),
        "ceiling-granian": ceiling_granian("ceiling-granian", next(ports), loop),
        "ceiling-uvicorn": ceiling_uvicorn("ceiling-uvicorn", next(ports)),
    }
