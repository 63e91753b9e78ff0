"""The API docs pages render in headless Chromium with no network beyond the server itself."""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from entrypoints.http import create_app
from entrypoints.settings import Settings
from tests.integration.live import live_server

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    # No network but loopback: every other host fails to resolve, and anything proxied meets a closed port.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1",
    "--proxy-server=http://127.0.0.1:9",
]


@pytest.fixture(name="base_url", scope="module")
def _base_url(settings: Settings) -> Iterator[str]:
    """The app over real HTTP on loopback."""
    with live_server(create_app(settings)) as url:
        yield url


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    assert found, "Debian's chromium is needed (apt-get install -y chromium; .ci/run installs it)"
    return found


def _net_log(path: Path) -> dict[str, Any]:
    """Chromium's network log (its closing bracket may be missing when the browser exits at once)."""
    text = path.read_text()
    try:
        log: dict[str, Any] = json.loads(text)
    except json.JSONDecodeError:
        log = json.loads(text.rstrip().rstrip(",") + "]}")
    return log


def _page_requests(log: dict[str, Any], origin: str) -> list[str]:
    """URLs the page itself asked for (not the browser's own update or account checks)."""
    kinds = {number: name for name, number in log["constants"]["logEventTypes"].items()}
    return [
        event["params"]["url"]
        for event in log["events"]
        if kinds.get(event["type"]) == "URL_REQUEST_START_JOB"
        and event.get("params", {}).get("initiator") == origin
    ]


def _render(url: str, workdir: Path) -> tuple[str, list[str]]:
    """The page's DOM once its scripts ran, and the URLs it requested."""
    origin = url.split("/docs")[0]
    net_log = workdir / "net.json"
    run = subprocess.run(
        [
            _chromium(),
            *CHROMIUM_FLAGS,
            f"--user-data-dir={workdir / 'profile'}",
            f"--log-net-log={net_log}",
            "--virtual-time-budget=15000",
            "--dump-dom",
            url,
        ],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    return run.stdout, _page_requests(_net_log(net_log), origin)


@pytest.mark.parametrize(
    ("page", "asset"), [("/docs", "scalar-api-reference"), ("/docs/swagger", "swagger-ui")]
)
def test_docs_page_renders_every_product_operation_offline(
    base_url: str, tmp_path: Path, page: str, asset: str
) -> None:
    """Scalar and Swagger UI show each operation's summary, and load nothing from anywhere but the server."""
    document = httpx.get(f"{base_url}/docs/openapi.json").json()
    summaries = [
        operation["summary"]
        for path, item in document["paths"].items()
        if path.startswith("/products")
        for operation in item.values()
    ]
    assert len(summaries) == 4
    dom, requested = _render(base_url + page, tmp_path)
    text = html.unescape(re.sub(r"<[^>]*>", "", dom))
    for summary in summaries:
        assert summary in text, (summary, text[:2000])
    assert any(f"/docs/assets/{asset}-" in url for url in requested), requested
    assert all(url.startswith(base_url + "/") for url in requested), requested
