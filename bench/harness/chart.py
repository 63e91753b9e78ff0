"""The PNG: requests per second per scenario and contender, log scale, with the rounds' min-max."""

from __future__ import annotations

import textwrap
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from harness.report import Line


def draw(lines: list[Line], path: Path, caption: str) -> None:
    """A horizontal bar per table row, grouped by scenario; failed rows are hatched."""
    contenders = list(dict.fromkeys(line.contender for line in lines))
    colours = dict(zip(contenders, plt.get_cmap("tab10").colors, strict=False))
    figure, axes = plt.subplots(figsize=(11, 0.32 * len(lines) + 1.8))
    labels, y = [], 0.0
    previous = None
    for line in lines:
        if previous is not None and line.scenario.key != previous:
            y += 0.6
        previous = line.scenario.key
        axes.barh(
            y,
            line.rps,
            xerr=[[line.rps - line.rps_min], [line.rps_max - line.rps]],
            color=colours[line.contender],
            hatch="//" if line.failures else None,
            capsize=2,
        )
        axes.text(line.rps * 1.05, y, f"{line.rps:,.0f}", va="center", fontsize=7)
        labels.append((y, f"{line.scenario.title}: {line.contender}"))
        y += 1
    axes.set_yticks([pos for pos, _ in labels], [text for _, text in labels], fontsize=7)
    axes.invert_yaxis()
    axes.set_xscale("log")
    axes.set_xlabel("requests per second (median of counted rounds; bars: min-max)")
    axes.set_title("\n".join(textwrap.wrap(caption, 120)), fontsize=9)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
