"""SIGTERM during a load fails the command: exit 1, one line, nothing loaded."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest

from tests.integration.cli_runner import count_products
from tests.servers import scratch_database


@pytest.mark.parametrize("command", ["seed", "import"])
def test_sigterm_during_a_load_fails_the_command_and_loads_nothing(
    command: str, postgres_admin_url: str, tmp_path: Path
) -> None:
    """SIGTERM while ``seed`` or ``import`` is copying rows: exit 1 with one line saying so, and the
    load's transaction is rolled back (before: exit 0, as if it had worked)."""
    source = tmp_path / "many.csv"
    if command == "import":
        source.write_text("name,price,stock\n" + "".join(f"Lamp {i},1.00,1\n" for i in range(1_500_000)))
    args = ["seed", "--count", "3000000"] if command == "seed" else ["import", str(source)]
    with scratch_database(postgres_admin_url, prefix="productcore_sigterm") as url:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PRODUCTCORE_")}
        env["PRODUCTCORE_DATABASE_URL"] = url
        process = subprocess.Popen(
            [sys.executable, "-m", "entrypoints.cli.main", *args], env=env, stderr=subprocess.PIPE, text=True
        )
        try:
            deadline = time.monotonic() + 120
            while not _copying(url) and process.poll() is None and time.monotonic() < deadline:
                time.sleep(0.05)
            process.send_signal(signal.SIGTERM)
            _, errors = process.communicate(timeout=60)
        finally:
            process.kill()
        loaded = count_products(url)
    print(f"\n{command} after SIGTERM: exit {process.returncode}, {loaded} products; {errors.strip()[-120:]}")
    assert process.returncode == 1
    assert "interrupted by SIGTERM" in errors and "Traceback" not in errors
    assert loaded == 0


def _copying(url: str) -> bool:
    """Whether a COPY into products is running in that database."""
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND query LIKE 'COPY products%%'"
        ).fetchone()
    return bool(row and row[0])
