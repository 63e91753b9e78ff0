"""Seeding and importing with a progress bar; the COPY itself lives in the PostgreSQL adapter."""

from __future__ import annotations

import time
from pathlib import Path

import click
import psycopg
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from adapters.postgres.bulk import load_products
from entrypoints.cli.demo_data import demo_products
from entrypoints.cli.importing import BadFile, ImportReport, read_products

_SHOWN_ERRORS = 50


class RateColumn(ProgressColumn):
    """Rows per second so far (blank until rich has measured a speed)."""

    def render(self, task: Task) -> Text:
        """The task's speed as ``12,345 rows/s``."""
        speed = task.finished_speed or task.speed
        return Text("" if speed is None else f"{speed:,.0f} rows/s")


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        RateColumn(),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
        transient=False,
    )


def _plural(count: int, noun: str) -> str:
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def seed_products(url: str, count: int, seed: int) -> int:
    """Add ``count`` demo products and report the rate."""
    started = time.perf_counter()
    with _progress() as progress:
        task = progress.add_task("seeding", total=count)
        written = load_products(
            url,
            demo_products(count, seed),
            expected_rows=count,
            progress=lambda n: progress.advance(task, n),
            stage=lambda step: progress.update(task, description=f"seeding: {step}"),
        )
        progress.update(task, description="seeded")
    elapsed = time.perf_counter() - started
    click.echo(f"seeded {_plural(written, 'product')} in {elapsed:.1f}s", err=True)
    return written


def seed_if_empty(url: str, count: int) -> None:
    """Seed demo products unless the catalogue already has some."""
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT EXISTS (SELECT 1 FROM products)").fetchone()
    if row and not row[0]:
        seed_products(url, count, seed=1)


def _first_undecodable(path: Path) -> tuple[int, int, int]:
    """The line and position in it (both from 1) of the first byte that is not UTF-8, and that byte."""
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                raw.decode("utf-8-sig" if number == 1 else "utf-8")
            except UnicodeDecodeError as error:
                return number, error.start + 1, raw[error.start]
    return 0, 0, 0


def _count_lines(path: Path) -> int:
    with path.open("rb") as handle:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b""))


def import_file(url: str, path: Path, file_format: str, *, skip_invalid: bool) -> bool:
    """Load a CSV or JSON Lines file; with bad rows, load nothing unless ``skip_invalid``.

    A file that cannot be loaded as a whole (an unusable header, a JSON array, text that is not
    UTF-8) loads nothing, ``skip_invalid`` or not. A UTF-8 byte order mark is allowed.

    Returns:
        True when the file was loaded (possibly without its bad rows).
    """
    report = ImportReport()
    lines = _count_lines(path)
    try:
        # utf-8-sig: a byte order mark (Excel's "CSV UTF-8") is read as nothing.
        with path.open(encoding="utf-8-sig", newline="") as handle:
            rows = read_products(file_format, handle, report)
            with _progress() as progress:
                task = progress.add_task(f"importing {path.name}", total=lines)
                written = load_products(
                    url,
                    rows,
                    expected_rows=lines,
                    progress=lambda n: progress.advance(task, n),
                    commit=lambda: skip_invalid or not report.errors,
                    stage=lambda step: progress.update(task, description=f"importing {path.name}: {step}"),
                )
                progress.update(task, total=report.rows, completed=report.rows)
    except BadFile as error:
        click.echo(f"{path}:{error.line}: {error.reason}; nothing loaded", err=True)
        return False
    except UnicodeDecodeError:
        line, column, byte = _first_undecodable(path)
        click.echo(
            f"{path}:{line}: not UTF-8 text (byte 0x{byte:02x}, byte {column} of the line); save the file "
            "as UTF-8: nothing loaded",
            err=True,
        )
        return False
    for line, reason in report.errors[:_SHOWN_ERRORS]:
        click.echo(f"{path}:{line}: {reason}", err=True)
    if len(report.errors) > _SHOWN_ERRORS:
        click.echo(f"... and {len(report.errors) - _SHOWN_ERRORS} more bad rows", err=True)
    if report.errors and not skip_invalid:
        click.echo(
            f"{_plural(len(report.errors), 'bad row')}: nothing loaded (use --skip-invalid to load the rest)",
            err=True,
        )
        return False
    skipped = f", skipped {_plural(len(report.errors), 'bad row')}" if report.errors else ""
    click.echo(f"imported {_plural(written, 'product')} from {path}{skipped}", err=True)
    return True
