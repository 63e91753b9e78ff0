"""Medians of per-round ratios, the markdown tables, and the JSON of every run's raw figures."""

from __future__ import annotations

import statistics
from dataclasses import dataclass

from harness.runner import Runs
from harness.scenarios import CEILINGS, REFERENCE, Scenario

FAILURES = ("non2xx", "socket_errors", "timeouts", "exhausted")


@dataclass
class Line:
    """One row of the table: a contender in a scenario, over the counted rounds."""

    scenario: Scenario
    contender: str
    rps: float
    rps_min: float
    rps_max: float
    p50_ms: float
    p99_ms: float
    vs_reference: tuple[float, float, float] | None
    vs_ceiling: tuple[float, float, float] | None
    server_cpu: float
    cpu_ms: float  # server CPU time per request
    wrk_cpu: float
    failures: int  # non-2xx, socket errors, timeouts, exhausted id ranges and empty runs, in every round


def _spread(values: list[float]) -> tuple[float, float, float]:
    return statistics.median(values), min(values), max(values)


def _ratios(runs: list[dict[str, float]], base: list[float]) -> tuple[float, float, float] | None:
    if len(runs) != len(base) or not all(base):
        return None
    return _spread([run["rps"] / b for run, b in zip(runs, base, strict=True)])


def _failures(runs: list[dict[str, float]]) -> int:
    """Requests that failed, plus one for each run in which no request completed at all."""
    return int(sum(r[key] for r in runs for key in FAILURES) + sum(r["requests"] == 0 for r in runs))


def summarise(scenarios: list[Scenario], runs: Runs, drop: int) -> list[Line]:
    """Drop the first ``drop`` rounds; ratios are taken per round against the same round's runs."""
    ceiling = [
        max(figures)
        for figures in zip(*(
            [r["rps"] for r in runs.get("get_l1", {}).get(name, [])][drop:] for name in CEILINGS
        ), strict=True)
    ]  # fmt: skip
    lines = []
    for scenario in scenarios:
        by_contender = runs[scenario.key]
        reference = [r["rps"] for r in by_contender.get(REFERENCE, [])][drop:]
        for row in scenario.rows:
            every = by_contender[row.contender]
            counted = every[drop:] or every
            rps = [r["rps"] for r in counted]
            lines.append(
                Line(
                    scenario,
                    row.contender,
                    statistics.median(rps),
                    min(rps),
                    max(rps),
                    statistics.median(r["p50_us"] for r in counted) / 1000,
                    statistics.median(r["p99_us"] for r in counted) / 1000,
                    _ratios(counted, reference),
                    _ratios(counted, ceiling) if scenario.vs_ceiling else None,
                    statistics.median(r["server_cpu"] for r in counted),
                    statistics.median(1000 * r["server_cpu"] / r["rps"] if r["rps"] else 0 for r in counted),
                    statistics.median(r["wrk_cpu"] for r in counted),
                    _failures(every),
                )
            )
    return lines


def _ratio(spread: tuple[float, float, float] | None) -> str:
    return "" if spread is None else f"{spread[0]:.2f} ({spread[1]:.2f}-{spread[2]:.2f})"


def table(lines: list[Line]) -> str:
    """The saturation table in markdown; a row with any failed request says FAIL."""
    out = [
        "| scenario | contender | req/s (min-max) | p50 ms | p99 ms | vs reference (min-max) "
        "| vs ceiling (min-max) | server CPU ms/req | CPU cores server / wrk | non-2xx, errors |",
        "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for line in lines:
        failed = f"**FAIL {line.failures}**" if line.failures else "0"
        out.append(
            f"| {line.scenario.title} | {line.contender} | {line.rps:,.0f} ({line.rps_min:,.0f}-{line.rps_max:,.0f}) "
            f"| {line.p50_ms:.2f} | {line.p99_ms:.2f} | {_ratio(line.vs_reference)} | {_ratio(line.vs_ceiling)} "
            f"| {line.cpu_ms:.2f} | {line.server_cpu:.2f} / {line.wrk_cpu:.2f} | {failed} |"
        )
    return "\n".join(out)


def fixed_rate_table(scenarios: list[Scenario], paced: Runs) -> tuple[str, int]:
    """Latency at a fixed rate (medians over rounds) and the number of failed requests in it."""
    out = [
        "| scenario | contender | target req/s | achieved | p50 ms | p90 ms | p99 ms | max ms "
        "| late sends | non-2xx, errors |",
        "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    failures = 0
    for scenario in scenarios:
        for contender, runs in paced.get(scenario.key, {}).items():
            failed = _failures(runs)
            failures += failed
            median = {key: statistics.median(r[key] for r in runs) for key in runs[0]}
            out.append(
                f"| {scenario.title} | {contender} | {median['target_rps']:,.0f} | {median['rps']:,.0f} "
                f"| {median['p50_us'] / 1000:.2f} | {median['p90_us'] / 1000:.2f} | {median['p99_us'] / 1000:.2f} "
                f"| {median['max_us'] / 1000:.2f} | {int(sum(r['late'] for r in runs))} "
                f"| {f'**FAIL {failed}**' if failed else '0'} |"
            )
    return "\n".join(out), failures


def machine_lines(machine: dict[str, object]) -> str:
    packages = machine["packages"]
    assert isinstance(packages, dict)
    versions = ", ".join(f"{name} {version}" for name, version in packages.items())
    return (
        f"- machine: {machine['cpu']}, {machine['cores']} cores, Linux {machine['kernel']}, "
        f"Python {machine['python']}\n"
        f"- servers: PostgreSQL {machine['postgresql']}, Redis {machine['redis']}; load: {machine['wrk']}\n"
        f"- packages: {versions}\n"
        f"- commit: {machine['commit']}"
    )
