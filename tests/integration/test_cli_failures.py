"""Expected failures of the command line end with one line on stderr and the documented exit code."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tests.integration.cli_runner import invoke, run_process


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize(
    "command", [["get", "1"], ["db", "migrate"], ["serve", "--port", "0"], ["seed", "--count", "1"]]
)
def test_an_unreachable_database_is_one_line_and_exit_1(command: list[str]) -> None:
    """With nothing listening at PRODUCTCORE_DATABASE_URL, the command names the database in one line."""
    port = _closed_port()
    result = run_process(
        *command,
        env={
            "PRODUCTCORE_DATABASE_URL": f"postgresql://nobody@127.0.0.1:{port}/x",
            "PRODUCTCORE_REDIS_URL": f"redis://127.0.0.1:{_closed_port()}/0",
        },
    )
    assert result.returncode == 1, result.stderr
    assert result.stderr.splitlines() == [
        f"Error: cannot reach the database 127.0.0.1:{port}/x (PRODUCTCORE_DATABASE_URL): Connection refused"
    ]
    assert result.stdout == ""


@pytest.mark.parametrize(
    ("variable", "value", "command"),
    [
        ("PRODUCTCORE_REDIS_URL", "foo", ["get", "1"]),
        ("PRODUCTCORE_REDIS_URL", "foo", ["serve"]),
        ("PRODUCTCORE_DATABASE_URL", "mysql://u@h/x", ["get", "1"]),
        ("PRODUCTCORE_PORT", "99999", ["serve"]),
        ("PRODUCTCORE_LOG_LEVEL", "loud", ["db", "migrate"]),
    ],
)
def test_a_bad_variable_is_exit_2_naming_it_without_a_usage_banner(
    database_url: str, variable: str, value: str, command: list[str]
) -> None:
    """The command line was fine, so there is no "Usage:" banner; the message names the variable."""
    result = invoke(*command, env={"PRODUCTCORE_DATABASE_URL": database_url, variable: value})
    assert result.exit_code == 2
    assert result.output.startswith(f"Error: {variable}") and "Usage:" not in result.output
    assert len(result.output.splitlines()) == 1


def test_an_unusable_data_dir_is_named(tmp_path: Path) -> None:
    """A PRODUCTCORE_DATA_DIR that cannot be created is a configuration error naming the variable."""
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    result = invoke("get", "1", env={"PRODUCTCORE_DATA_DIR": str(blocker / "data")})
    assert result.exit_code == 2
    assert result.output.startswith("Error: PRODUCTCORE_DATA_DIR=") and "Traceback" not in result.output


@pytest.mark.parametrize(
    ("args", "complaint"),
    [
        (["update", "1", "--price", "abc", "--stock", "9"], "'--price': 'abc' must be a decimal amount"),
        (["update", "1", "--price", "1e1", "--stock", "9"], "'--price': '1e1' must be a decimal amount"),
        (["update", "1", "--price", "NaN", "--stock", "9"], "'--price': NaN must be a finite number"),
        (["update", "1", "--price", "1.001", "--stock", "9"], "at most 2 decimal places"),
        (["update", "1", "--price", "1", "--stock", "-3"], "'--stock': -3 must not be negative"),
        (["update", "1", "--price", "1", "--stock", "x"], "'--stock': 'x' must be a whole number"),
        (["update", "1", "--price", "1", "--stock", "1_000"], "'--stock': '1_000' must be a whole number"),
        (["update", "0", "--price", "1", "--stock", "1"], "PRODUCT_ID"),
        (["search", "--max-price", "abc"], "'--max-price': 'abc' must be a decimal amount"),
        (["search", "--min-price", "1.234"], "'--min-price': 1.234 must have at most 2 decimal places"),
        (["search", "--min-price", "-1"], "'--min-price': -1 must not be negative"),
        (["search"], "give at least one of name, min_price or max_price"),
        (["search", "--name", "x", "--limit", "1000"], "'--limit': 1000 is not a whole number from 1 to 100"),
    ],
)
def test_bad_values_are_usage_errors_before_any_server(args: list[str], complaint: str) -> None:
    """Bad values exit 2 with a usage error, checked before the (unreachable) database is tried."""
    result = invoke(
        *args, env={"PRODUCTCORE_DATABASE_URL": f"postgresql://nobody@127.0.0.1:{_closed_port()}/x"}
    )
    assert result.exit_code == 2, result.output
    assert complaint in result.output and "Usage:" in result.output
    assert "cannot reach" not in result.output


def test_sigterm_stops_the_relay_in_order(database_url: str, redis_url: str) -> None:
    """SIGTERM ends `productcore relay` as Ctrl-C does: "relay stopped", exit 0, no traceback."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRODUCTCORE_")}
    env |= {
        "PRODUCTCORE_DATABASE_URL": database_url,
        "PRODUCTCORE_REDIS_URL": redis_url,
        "PRODUCTCORE_CACHE_KEY_PREFIX": f"productcore-test-{uuid.uuid4().hex[:8]}:cache",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "entrypoints.cli.main", "relay"],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stderr is not None
        for line in process.stderr:
            if line.startswith("relay "):
                break
        process.send_signal(signal.SIGTERM)
        _, rest = process.communicate(timeout=20)
    finally:
        process.kill()
    assert process.returncode == 0
    assert "relay stopped" in rest and "Traceback" not in rest
