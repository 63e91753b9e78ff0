"""REDbot, the HTTP linter, finds no caching, validation or negotiation problem in what the API sends."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from entrypoints.http import create_app
from entrypoints.settings import Settings
from tests.integration.conftest import NewProduct
from tests.integration.live import live_server

REDBOT = Path(sys.executable).with_name("redbot")
CHECKED = {"CACHING", "VALIDATION", "CONNEG"}
"""REDbot's categories for Cache-Control and freshness, ETag and conditional requests, and Vary."""


@pytest.fixture(name="base_url", scope="module")
def _base_url(settings: Settings) -> Iterator[str]:
    """The app served over real HTTP, as REDbot needs."""
    with live_server(create_app(settings)) as url:
        yield url


def _notes(url: str) -> list[dict[str, Any]]:
    """REDbot's notes on one URL (it also makes its own conditional, ranged and gzip requests)."""
    run = subprocess.run([REDBOT, "-o", "har", url], capture_output=True, text=True, timeout=120, check=True)
    entries = json.loads(run.stdout)["log"]["entries"]
    assert len(entries) == 1, run.stdout
    notes: list[dict[str, Any]] = []
    pending = list(entries[0]["_red_messages"])
    while pending:
        note = pending.pop()
        notes.append(note)
        pending += note.get("subnotes", [])
    return notes


async def test_redbot_finds_no_caching_problem(base_url: str, new_product: NewProduct) -> None:
    """A long product, a page, a search, a 404 and /health/ready: no WARN or BAD on caching, ETag or Vary."""
    product = await new_product(name="Redbot kettle", description="A kettle described at length. " * 60)
    paths = [
        f"/products/{product.id}",
        "/products?limit=50",
        "/products/search?name=kettle",
        "/products/987654321",
        "/health/ready",
        "/docs/openapi.json",
    ]
    for path in paths:
        notes = _notes(base_url + path)
        problems = [n for n in notes if n["category"] in CHECKED and n["level"] in {"WARN", "BAD"}]
        assert problems == [], (path, problems)
        ids = {n["note_id"] for n in notes}
        if path == f"/products/{product.id}":
            assert {"INM_304", "FRESHNESS_NO_CACHE"} <= ids, ids
        elif not path.startswith("/docs"):
            assert "STORE_NO_STORE" in ids, (path, ids)
