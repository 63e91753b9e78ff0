"""Running the command line in tests: in-process with click's runner, or as a real process."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping

from click.testing import CliRunner, Result

from entrypoints.cli.main import cli


def invoke(*args: str, env: Mapping[str, str | None]) -> Result:
    """Run ``productcore ARGS`` in-process with only ``env``'s PRODUCTCORE_* variables set."""
    cleared: dict[str, str | None] = {k: None for k in os.environ if k.startswith("PRODUCTCORE_")}
    return CliRunner().invoke(cli, list(args), env={**cleared, **env}, catch_exceptions=False)


def run_process(*args: str, env: Mapping[str, str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run ``productcore ARGS`` as its own process, with only ``env``'s PRODUCTCORE_* variables set."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("PRODUCTCORE_")}
    return subprocess.run(
        [sys.executable, "-m", "entrypoints.cli.main", *args],
        env={**environ, **env},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def count_products(url: str, where: str = "TRUE", params: tuple[object, ...] = ()) -> int:
    """How many products match a WHERE clause written by the test itself."""
    import psycopg

    with psycopg.connect(url) as conn:
        query = f"SELECT count(*) FROM products WHERE {where}"
        row = conn.execute(query, params).fetchone()  # type: ignore[arg-type]
    assert row is not None
    return int(row[0])
