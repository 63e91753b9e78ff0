"""Every request is counted in ``/metrics`` and logged, including those refused before routing."""

from __future__ import annotations

import json
import re

import httpx
import msgspec
import pytest
from litestar.testing import AsyncTestClient

from entrypoints.http import create_app
from entrypoints.settings import Settings
from tests.integration.conftest import NewProduct
from tests.integration.live import live_server
from tests.integration.test_rate_limits import limited


def _count(metrics: str, method: str, path: str, status: int) -> float:
    labels = f'method="{method}",path="{re.escape(path)}",status="{status}"'
    pattern = rf"^productcore_http_requests_total\{{{labels}\}} (\S+)$"
    match = re.search(pattern, metrics, re.MULTILINE)
    return float(match[1]) if match else 0.0


async def test_refusals_before_routing_and_router_errors_are_counted(
    settings: Settings, redis_url: str, new_product: NewProduct
) -> None:
    """429s from the budget, the router's 404 and 405, and served reads all appear in the request metrics."""
    product = await new_product()
    app = create_app(limited(settings, redis_url, rate_limit_read="2/minute", rate_limit_write="2/minute"))
    async with AsyncTestClient(app=app) as client:
        before = (await client.get("/metrics")).text
        statuses = [(await client.get(f"/products/{product.id}")).status_code for _ in range(3)]
        missing = await client.delete("/nowhere")
        wrong_method = await client.delete(f"/products/{product.id}")
        after = (await client.get("/metrics")).text
    assert statuses == [200, 200, 429]
    assert (missing.status_code, wrong_method.status_code) == (404, 405)
    assert (
        _count(after, "GET", "/products/{product_id}", 200)
        - _count(before, "GET", "/products/{product_id}", 200)
        == 2
    )
    assert _count(after, "GET", "unrouted", 429) - _count(before, "GET", "unrouted", 429) == 1
    assert _count(after, "DELETE", "unrouted", 404) - _count(before, "DELETE", "unrouted", 404) == 1
    assert _count(after, "DELETE", "unrouted", 405) - _count(before, "DELETE", "unrouted", 405) == 1
    assert "productcore_http_request_duration_seconds_bucket" in after


def test_json_access_log_names_the_client_behind_a_trusted_proxy(
    settings: Settings, capfd: pytest.CaptureFixture[str]
) -> None:
    """``PRODUCTCORE_LOG_FORMAT=json``: one object per request, with the address the proxy forwarded."""
    configured = msgspec.structs.replace(
        settings, log_format="json", access_log=True, trusted_proxies="127.0.0.1"
    )
    with live_server(create_app(configured)) as url:
        response = httpx.get(f"{url}/products/1", headers={"X-Forwarded-For": "203.0.113.7"})
    rid = response.headers["x-request-id"]
    lines = [line for line in capfd.readouterr().err.splitlines() if rid in line]
    assert len(lines) == 1, lines
    record = json.loads(lines[0])
    assert record["client"] == "203.0.113.7"
    assert record["path"] == "/products/1" and record["method"] == "GET"
    assert record["status"] == response.status_code
    assert record["logger"] == "productcore.access" and record["duration_ms"] >= 0
