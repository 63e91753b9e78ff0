"""Run wrk (one thread per process) with bench/load.lua and read the JSON line its ``done()`` prints."""

from __future__ import annotations

import json
import math
import os
import resource
import subprocess
import time
from pathlib import Path

LUA = Path(__file__).resolve().parent.parent / "load.lua"


def command(url: str, connections: int, seconds: float, lua_args: list[str]) -> list[str]:
    """wrk's command line; wrk takes whole seconds only."""
    return [
        "wrk", "-t1", f"-c{connections}", f"-d{max(1, math.ceil(seconds))}s", "--timeout", "10s",
        "-s", str(LUA), url, "--", *lua_args,
    ]  # fmt: skip


def run(
    targets: list[tuple[str, list[str]]], connections: int, seconds: float, rate: float | None = None
) -> dict[str, float]:
    """Load every (url, lua args) target at once, one wrk each; return their figures combined.

    With ``rate``, each wrk sends that many requests a second on a fixed timetable (see load.lua).
    Requests and errors add up; latencies are the worst target's. ``wrk_cpu`` is the CPU time
    the wrk processes used, in cores (1.0: one core busy for the whole run).
    """
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    env = os.environ | ({"BENCH_RATE": f"{rate:.0f}"} if rate else {})
    processes = [
        subprocess.Popen(command(url, connections, seconds, args), stdout=subprocess.PIPE, text=True, env=env)
        for url, args in targets
    ]
    outputs = [p.communicate(timeout=seconds + 60)[0] for p in processes]
    elapsed = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    figures = [_parse(output) for output in outputs]
    combined = {
        key: sum(f[key] for f in figures)
        for key in ("requests", "non2xx", "socket_errors", "timeouts", "exhausted", "late")
    }
    combined |= {
        key: max(f[key] for f in figures) for key in ("p50_us", "p90_us", "p99_us", "max_us", "reached")
    }
    combined["rps"] = sum(f["requests"] / (f["duration_us"] / 1e6) for f in figures)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    combined["wrk_cpu"] = cpu / elapsed
    return combined


def _parse(output: str) -> dict[str, float]:
    for line in output.splitlines():
        if line.startswith("BENCH "):
            return json.loads(line.removeprefix("BENCH "))  # type: ignore[no-any-return]
    raise RuntimeError(f"wrk printed no figures:\n{output}")
