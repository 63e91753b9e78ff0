"""Interleaved rounds (every contender of a scenario, then the next scenario; again each round)."""

from __future__ import annotations

import statistics
import sys
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor

from harness import wrk
from harness.data import HOT
from harness.procs import Server
from harness.scenarios import OURS, REFERENCE, Plan, Row, Scenario

PACED_CONNECTIONS = 64  # enough for the timetable through stalls of tens of ms at these rates
Runs = dict[str, dict[str, list[dict[str, float]]]]  # scenario key -> contender -> one figure set per round


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


class Runner:
    """Loads servers with wrk and keeps every run's figures, CPU use of server and wrk included."""

    def __init__(self, servers: dict[str, Server], plan: Plan, seconds: float) -> None:
        self.servers = servers
        self.plan = plan
        self.seconds = seconds

    def warm(self, name: str) -> None:
        """Read every hot id once, walking them in order, so the next run finds all of them cached."""
        url, start = self.servers[name].url, 1
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            walk = ["walk", "/products/", str(start), str(HOT + 1), "1"]
            figures = wrk.run([(url, walk)], 32, 1)  # wrk runs whole seconds, done or not: short runs
            if figures["exhausted"]:
                return
            start = max(1, int(figures["reached"]) - 32)  # requests in flight at the end went unanswered
        raise RuntimeError(f"could not read the {HOT:,} hot ids of {name} in 3 minutes")

    def warm_all(self, names: list[str]) -> None:
        """Warm these servers at the same time (each walk waits on its server more than on the CPU)."""
        with ThreadPoolExecutor(max_workers=max(1, len(names))) as pool:
            list(pool.map(self.warm, names))

    def measure(
        self, scenario: Scenario, row: Row, lua_args: list[str], seconds: float, rate: float | None = None
    ) -> dict[str, float]:
        servers = [self.servers[name] for name in row.servers]
        before = [server.cpu_seconds() for server in servers]
        started = time.monotonic()
        connections = PACED_CONNECTIONS if rate else scenario.connections
        figures = wrk.run([(server.url, lua_args) for server in servers], connections, seconds, rate)
        elapsed = time.monotonic() - started
        used = sum(s.cpu_seconds() - b for s, b in zip(servers, before, strict=True))
        figures["server_cpu"] = used / elapsed
        return figures

    def saturated(self, scenarios: list[Scenario], rounds: int) -> Runs:
        """Every scenario at full speed, ``rounds`` times, contenders interleaved within each round."""
        runs: Runs = defaultdict(lambda: defaultdict(list))
        self.warm_all(["ours", "reference"])
        for round_no in range(rounds):
            started = time.monotonic()
            for scenario in scenarios:
                self.warm_all([name for row in scenario.rows if row.warm_l1 for name in row.servers])
                for row_no, row in enumerate(scenario.rows):
                    lua_args = self.plan.lua_args(scenario, round_no, row_no)
                    figures = self.measure(scenario, row, lua_args, self.seconds)
                    runs[scenario.key][row.contender].append(figures)
                    say(
                        f"  r{round_no} {scenario.key:<13} {row.contender:<26} {figures['rps']:9,.0f} req/s"
                        f"  p50 {figures['p50_us'] / 1000:7.2f} ms  p99 {figures['p99_us'] / 1000:7.2f} ms"
                        f"  cpu srv {figures['server_cpu']:.2f} wrk {figures['wrk_cpu']:.2f}"
                    )
            say(f"round {round_no + 1}/{rounds} done in {time.monotonic() - started:.0f} s")
        return runs

    def fixed_rate(
        self, scenarios: list[Scenario], runs: Runs, fraction: float, rounds: int, seconds: float
    ) -> Runs:
        """Latency at ``fraction`` of the reference's median saturated rate, ours and the reference interleaved."""
        paced: Runs = defaultdict(lambda: defaultdict(list))
        chosen = [s for s in scenarios if s.fixed_rate and REFERENCE in runs.get(s.key, {})]
        for round_no in range(rounds):
            for scenario in chosen:
                reference = runs[scenario.key][REFERENCE]
                rate = fraction * statistics.median(r["rps"] for r in reference[1:] or reference)
                for row in scenario.rows:
                    if row.contender not in (OURS, REFERENCE):
                        continue
                    if row.warm_l1:
                        self.warm_all(list(row.servers))
                    lua_args = self.plan.lua_args(scenario, round_no, 0)
                    figures = self.measure(scenario, row, lua_args, seconds, rate) | {"target_rps": rate}
                    paced[scenario.key][row.contender].append(figures)
                    say(
                        f"  fixed r{round_no} {scenario.key:<11} {row.contender:<20} {rate:7,.0f} req/s"
                        f"  p50 {figures['p50_us'] / 1000:6.2f} ms  p99 {figures['p99_us'] / 1000:6.2f} ms"
                        f"  late {figures['late']:.0f}"
                    )
        return paced
