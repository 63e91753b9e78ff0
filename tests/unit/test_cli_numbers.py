"""The CLI reads page, limit and versions as the HTTP API does: plain digits in range, or a usage error."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from entrypoints.cli.main import cli


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["search", "--name", "x", "--page", "1_0"], "--page"),
        (["search", "--name", "x", "--page", " 5"], "--page"),
        (["search", "--name", "x", "--page", "0"], "--page"),
        (["search", "--name", "x", "--limit", "101"], "--limit"),
        (["search", "--name", "x", "--limit", "1e1"], "--limit"),
        (["update", "1", "--price", "1", "--stock", "1", "--if-version", "+5"], "--if-version"),
        (["update", "1", "--price", "1", "--stock", "1", "--if-version", "9" * 40], "--if-version"),
    ],
)
def test_numbers_the_http_api_refuses_are_usage_errors(args: list[str], named: str) -> None:
    """Refused before any server starts (exit 2), naming the option and the range."""
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2, result.output
    assert named in result.output
    assert "is not a whole number from 1 to" in result.output
