"""docs/configuration.md lists every setting once, with its default, and the docs name no other."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from entrypoints.settings import PREFIX, TEST_PREFIX, Settings

ROOT = Path(__file__).resolve().parents[2]
CONFIGURATION = ROOT / "docs" / "configuration.md"
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
ROW = re.compile(rf"^\| `{PREFIX}(?P<name>[A-Z0-9_]+)` \| (?P<default>[^|]*) \|", re.M)
MENTION = re.compile(rf"\b{PREFIX}[A-Z0-9_]*[A-Z0-9]\b")
NOT_SETTINGS = {"PRODUCTCORE_DATABSE_URL"}
"""Names the docs show on purpose although they are no setting (the typo of the unknown-setting example)."""
UNSET = ("unset", "empty", "per-user")
"""How a default cell says there is no value."""


def _rows(page: Path) -> list[tuple[str, str]]:
    return [(m["name"].lower(), m["default"].strip()) for m in ROW.finditer(page.read_text())]


def test_every_setting_has_exactly_one_row() -> None:
    """Each field of Settings is a row of the settings tables once; no row names anything else."""
    names = [name for name, _ in _rows(CONFIGURATION)]
    fields = list(Settings.__struct_fields__)
    assert sorted(set(fields) - set(names)) == [], "settings missing from docs/configuration.md"
    assert sorted(set(names) - set(fields)) == [], "rows naming no setting"
    assert sorted(n for n in set(names) if names.count(n) > 1) == [], "settings listed more than once"


@pytest.mark.parametrize(("name", "cell"), _rows(CONFIGURATION))
def test_each_row_gives_the_default(name: str, cell: str) -> None:
    """A row's default is the value Settings uses when the variable is not set."""
    default = getattr(Settings(), name, None)
    text = cell.strip("`")
    if default is None or default == "":
        assert text.startswith(UNSET), (name, cell)
    elif isinstance(default, bool):
        assert text == str(default).lower(), (name, cell, default)
    elif isinstance(default, (int, float)):
        assert float(text.replace(",", "")) == default, (name, cell, default)
    else:
        assert text == default, (name, cell, default)


def test_no_other_page_has_a_settings_table() -> None:
    """No docs page but docs/configuration.md tables settings (the README has its short table)."""
    elsewhere = {
        page.name: rows
        for page in PAGES
        if page not in (CONFIGURATION, ROOT / "README.md") and (rows := _rows(page))
    }
    assert elsewhere == {}


def test_every_variable_the_docs_name_is_a_setting() -> None:
    """A PRODUCTCORE_* name anywhere in README.md or docs/ is a setting (or the test suite's own)."""
    known = {PREFIX + field.upper() for field in Settings.__struct_fields__}
    named = {m[0] for page in PAGES for m in MENTION.finditer(page.read_text())}
    unknown = {n for n in named - known - NOT_SETTINGS if not n.startswith(TEST_PREFIX)}
    assert sorted(unknown) == []
