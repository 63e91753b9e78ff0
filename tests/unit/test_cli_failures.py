"""The CLI's top-level handler: expected failures are one line with their exit code, bugs get a hint."""

from __future__ import annotations

import click
import psycopg
import pytest
import redis.exceptions
from click.testing import CliRunner

from entrypoints.cli.failures import FailingCleanly, database_label
from entrypoints.settings import ConfigError


def _group_raising(error: Exception) -> click.Group:
    @click.group(cls=FailingCleanly)
    def group() -> None:
        """A group like ``productcore``."""

    @group.command()
    def fail() -> None:
        """Raise the error under test."""
        raise error

    return group


@pytest.mark.parametrize(
    ("error", "code", "line"),
    [
        (ConfigError("PRODUCTCORE_X is invalid"), 2, "Error: PRODUCTCORE_X is invalid"),
        (
            psycopg.OperationalError('connection to server at "h", port 5 failed: Connection refused'),
            1,
            "Error: database: Connection refused",
        ),
        (
            redis.exceptions.ConnectionError("Error 111 connecting to 127.0.0.1:6390. Connection refused."),
            1,
            "Error: cannot reach Redis (PRODUCTCORE_REDIS_URL): "
            "Error 111 connecting to 127.0.0.1:6390. Connection refused.",
        ),
        (PermissionError(13, "Permission denied", "/srv/data"), 1, "Error: Permission denied: /srv/data"),
    ],
)
def test_expected_failures_are_one_line(error: Exception, code: int, line: str) -> None:
    """Configuration errors exit 2, unreachable servers and file-system refusals exit 1; no traceback."""
    result = CliRunner().invoke(_group_raising(error), ["fail"])
    assert (result.exit_code, result.output.splitlines()) == (code, [line])


def test_a_bug_keeps_its_traceback_and_asks_for_a_report() -> None:
    """An unexpected exception still shows its traceback, followed by a one-line hint, and exits 1."""
    result = CliRunner().invoke(_group_raising(KeyError("oops")), ["fail"])
    assert result.exit_code == 1
    assert "Traceback" in result.output and "KeyError: 'oops'" in result.output
    assert result.output.splitlines()[-1].startswith(
        "Error: unexpected KeyError; this is a bug in productcore"
    )


@pytest.mark.parametrize(
    ("url", "label"),
    [
        ("postgresql://u:secret@db.example:5433/shop", "db.example:5433/shop"),
        ("postgresql://u@127.0.0.1/x", "127.0.0.1:5432/x"),
        ("host=/run/postgresql dbname=shop password=secret", "/run/postgresql:5432/shop"),
    ],
)
def test_database_labels_leave_out_credentials(url: str, label: str) -> None:
    """The database named in a failure is host, port and database name, never a password."""
    assert database_label(url) == label
