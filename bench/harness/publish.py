"""Turn a run's raw figures into bench/results/latest.{md,png} (also from a saved latest.json)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness import chart, datatier, report
from harness.runner import PACED_CONNECTIONS, say
from harness.scenarios import SCENARIOS


def _memory_line(figures: dict[str, float] | None) -> str:
    if not figures:
        return "not measured in this run"
    return (
        f"One productcore worker (`PRODUCTCORE_L1_SIZE=100000`): RSS {figures['rss_before'] / 2**20:.0f} MB "
        f"with an empty L1, {figures['rss_after'] / 2**20:.0f} MB with {figures['entries']:,} products in L1 "
        f"(filled by reading ids 1 to 100,000 once, in {figures['fill_seconds']:.0f} s; target: at most 200 MB)."
    )


def render(raw: dict[str, Any], results: Path) -> int:
    """Print and write the tables and the chart; return 1 if any request failed, else 0."""
    results.mkdir(parents=True, exist_ok=True)
    settings, runs, paced = raw["settings"], raw["saturated"], raw["fixed_rate"]
    chosen = [s for s in SCENARIOS if s.key in runs]
    lines = report.summarise(chosen, runs, drop=1 if settings["rounds"] > 1 else 0)
    fixed, fixed_failures = report.fixed_rate_table(chosen, paced)
    caption = (
        f"{settings['data']}; {settings['rounds']} rounds of {settings['seconds']} s per run, first dropped; "
        f"wrk -t1, one worker per server; whole run {settings['elapsed_s'] / 60:.1f} min"
    )
    rss = ", ".join(f"{name} {size / 2**20:.0f}" for name, size in raw["rss_bytes"].items())
    memory = _memory_line(raw.get("memory"))
    markdown = "\n\n".join(
        [
            "# productcore benchmark (`nox -s bench`)",
            caption,
            "## Saturation (wrk, closed loop; medians over rounds, ratios per round)",
            report.table(lines),
            f"## Latency at a fixed rate ({settings['rate_fraction']:g} x the reference's saturated rate, "
            f"{settings['fixed_rounds']} rounds of {settings['fixed_seconds']} s, {settings.get('paced_connections', PACED_CONNECTIONS)} connections, paced wrk)",
            fixed,
            "## Memory",
            memory,
            "## Data tier (loopback)",
            datatier.table(raw["data_tier"]),
            "## Machine",
            report.machine_lines(raw["machine"]) + f"\n- worker RSS after the run (MB): {rss}",
        ]
    )
    print(markdown)
    (results / "latest.md").write_text(markdown + "\n")
    chart.draw(lines, results / "latest.png", caption)
    failures = sum(line.failures for line in lines) + fixed_failures
    if failures:
        say(f"FAILED: {failures} requests were not 2xx or failed at the socket (rows marked FAIL)")
    return 1 if failures else 0
