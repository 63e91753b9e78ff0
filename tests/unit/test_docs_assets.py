"""The vendored docs assets are the published files the README of docs_assets names, with licences."""

from __future__ import annotations

import gzip
import hashlib
import re

from entrypoints.http.docs_ui import ASSETS, SCALAR, SWAGGER

ROW = re.compile(
    r"^\| `(?P<directory>[^`]+)` \| `[^`]+` \| [^|]+ \| `(?:dist/browser/)?(?P<file>[^`]+)` "
    r"\| `(?P<sha>[0-9a-f]{64})` \|$"
)


def test_every_asset_is_the_published_file() -> None:
    """Each gzipped asset decompresses to the SHA-256 recorded for the npm package's file."""
    rows = [m for line in (ASSETS / "README.md").read_text().splitlines() if (m := ROW.match(line))]
    assert {m["directory"] for m in rows} == {SCALAR, SWAGGER}
    shipped = {path.relative_to(ASSETS).as_posix() for path in ASSETS.glob("*/*.gz")}
    assert shipped == {f"{m['directory']}/{m['file']}.gz" for m in rows}
    for m in rows:
        content = gzip.decompress((ASSETS / m["directory"] / f"{m['file']}.gz").read_bytes())
        assert hashlib.sha256(content).hexdigest() == m["sha"], m["file"]


def test_every_asset_directory_carries_its_licence() -> None:
    """The licence of each vendored package travels with it."""
    for directory in (SCALAR, SWAGGER):
        assert (ASSETS / directory / "LICENSE").read_text().strip()
