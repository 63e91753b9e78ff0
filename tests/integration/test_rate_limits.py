"""Rate limits over real Redis: budgets per key or address, per route group, shared across instances."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import msgspec
import pytest
from litestar.testing import AsyncTestClient

from entrypoints.apikeys import READ, WRITE, ApiKey, generate
from entrypoints.http import create_app
from entrypoints.settings import Settings
from tests.integration.conftest import NewProduct
from tests.integration.live import live_server

PROBLEM = "application/problem+json"
_RATE_LIMIT = re.compile(r'"(?P<policy>\w+)";r=(?P<remaining>\d+);t=(?P<reset>\d+)')


def limited(settings: Settings, redis_url: str | None, *keys: ApiKey, **overrides: Any) -> Settings:
    """The session settings with default budgets in a key space of this test's own, and ``keys``."""
    values: dict[str, Any] = {
        "redis_url": redis_url,
        "rate_limit_key_prefix": f"test-{uuid.uuid4().hex[:12]}",
        "rate_limit_read": "100/minute",
        "rate_limit_write": "50/minute",
        "api_keys": ",".join(key.config_entry for key in keys),
        **overrides,
    }
    return msgspec.structs.replace(settings, **values)


def remaining(response: httpx.Response) -> tuple[str, int, int]:
    """``(policy, remaining, reset seconds)`` from the RateLimit field."""
    match = _RATE_LIMIT.fullmatch(response.headers["ratelimit"])
    assert match is not None, response.headers["ratelimit"]
    return match["policy"], int(match["remaining"]), int(match["reset"])


def assert_rate_limited(response: httpx.Response, policy: str, quota: int) -> None:
    """A 429 problem with Retry-After and both RateLimit fields, for ``policy``."""
    assert response.status_code == 429, response.text
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["status"] == 429
    assert body["type"] == "urn:productcore:problem:rate-limited"
    assert body["request_id"] == response.headers["x-request-id"]
    assert 1 <= int(response.headers["retry-after"]) <= 60
    assert response.headers["ratelimit-policy"] == f'"{policy}";q={quota};w=60'
    assert remaining(response)[:2] == (policy, 0)


def bearer(token: str) -> dict[str, str]:
    """The Authorization header for ``token``."""
    return {"Authorization": f"Bearer {token}"}


@asynccontextmanager
async def app_client(settings: Settings) -> AsyncIterator[AsyncTestClient]:
    """A test client of a fresh app built from ``settings``."""
    async with AsyncTestClient(app=create_app(settings)) as client:
        yield client


async def test_101st_read_is_refused_while_another_key_and_anonymous_still_read(
    settings: Settings, redis_url: str, new_product: NewProduct
) -> None:
    """One key's 101st read in a minute gets 429 with RateLimit fields; another key and no key get 200."""
    product = await new_product()
    (token_a, key_a), (token_b, key_b) = generate("reader-a", [READ]), generate("reader-b", [READ])
    async with app_client(limited(settings, redis_url, key_a, key_b)) as client:
        for n in range(1, 101):
            response = await client.get(f"/products/{product.id}", headers=bearer(token_a))
            assert response.status_code == 200
            assert response.headers["ratelimit-policy"] == '"read";q=100;w=60'
            policy, left, reset = remaining(response)
            assert (policy, left) == ("read", 100 - n)
            assert 0 < reset <= 60
        assert_rate_limited(await client.get(f"/products/{product.id}", headers=bearer(token_a)), "read", 100)
        other = await client.get(f"/products/{product.id}", headers=bearer(token_b))
        anonymous = await client.get(f"/products/{product.id}")
    assert other.status_code == 200
    assert remaining(other)[:2] == ("read", 99)
    assert anonymous.status_code == 200
    assert remaining(anonymous)[:2] == ("read", 99)


async def test_writes_have_their_own_budget(
    settings: Settings, redis_url: str, new_product: NewProduct
) -> None:
    """50 writes spend the write budget (the 51st gets 429) and leave the read budget whole."""
    product = await new_product()
    token, key = generate("writer", [WRITE])
    async with app_client(limited(settings, redis_url, key)) as client:
        for n in range(1, 51):
            response = await client.put(
                f"/products/{product.id}", json={"price": "1.00", "stock": n}, headers=bearer(token)
            )
            assert response.status_code == 200, response.text
            assert remaining(response)[:2] == ("write", 50 - n)
        refused = await client.put(
            f"/products/{product.id}", json={"price": "2.00", "stock": 99}, headers=bearer(token)
        )
        read = await client.get(f"/products/{product.id}", headers=bearer(token))
    assert_rate_limited(refused, "write", 50)
    assert read.status_code == 200
    assert read.json()["stock"] == 50, "the refused write must not have happened"
    assert remaining(read)[:2] == ("read", 99)


async def test_budgets_are_configurable_and_reads_do_not_spend_writes(
    settings: Settings, redis_url: str, new_product: NewProduct
) -> None:
    """With 5 reads and 3 writes a minute, spent reads leave all 3 writes, and spent writes leave reads."""
    product = await new_product()
    token, key = generate("small", [WRITE])
    custom = limited(settings, redis_url, key, rate_limit_read="5/minute", rate_limit_write="3/minute")
    async with app_client(custom) as client:
        reads = [await client.get("/products", headers=bearer(token)) for _ in range(6)]
        writes = [
            await client.put(f"/products/{product.id}", json={"price": 3, "stock": 1}, headers=bearer(token))
            for _ in range(4)
        ]
    assert [r.status_code for r in reads] == [200] * 5 + [429]
    assert reads[0].headers["ratelimit-policy"] == '"read";q=5;w=60'
    assert [r.status_code for r in writes] == [200] * 3 + [429]
    assert writes[0].headers["ratelimit-policy"] == '"write";q=3;w=60'


async def test_two_instances_sharing_redis_share_the_budget(
    settings: Settings, redis_url: str, new_product: NewProduct
) -> None:
    """Reads split over two app instances on one Redis count against one budget of 100."""
    product = await new_product()
    shared = limited(settings, redis_url)
    async with app_client(shared) as first, app_client(shared) as second:
        for client in (first, second):
            for _ in range(50):
                assert (await client.get(f"/products/{product.id}")).status_code == 200
        assert_rate_limited(await first.get(f"/products/{product.id}"), "read", 100)
        assert_rate_limited(await second.get(f"/products/{product.id}"), "read", 100)


async def test_operational_endpoints_spend_no_budget(
    settings: Settings, redis_url: str, new_product: NewProduct
) -> None:
    """Probes, metrics and docs are never limited nor counted, so they cannot starve product reads."""
    product = await new_product()
    async with app_client(limited(settings, redis_url, rate_limit_read="2/minute")) as client:
        for path in ["/health/live", "/health/ready", "/metrics", "/docs/openapi.json"] * 3:
            response = await client.get(path)
            assert response.status_code == 200, path
            assert "ratelimit" not in response.headers
        statuses = [(await client.get(f"/products/{product.id}")).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]


async def test_unrouted_requests_and_head_are_charged(settings: Settings, redis_url: str) -> None:
    """404s and 405s under /products spend budgets and carry RateLimit fields like any other request."""
    custom = limited(settings, redis_url, rate_limit_read="3/minute", rate_limit_write="2/minute")
    async with app_client(custom) as client:
        reads = [
            await client.get("/products/1/x"),
            await client.head("/products/1/x"),
            await client.options("/products/1"),
            await client.get("/products/1/x"),
        ]
        writes = [
            await client.request("DELETE", "/products/1"),
            await client.post("/products/1/x"),
            await client.request("DELETE", "/products/1"),
        ]
    assert [r.status_code for r in reads] == [404, 404, 204, 429]
    assert [remaining(r)[:2] for r in reads[:3]] == [("read", 2), ("read", 1), ("read", 0)]
    assert_rate_limited(reads[3], "read", 3)
    assert [r.status_code for r in writes] == [405, 404, 429]
    assert [remaining(r)[:2] for r in writes[:2]] == [("write", 1), ("write", 0)]
    assert writes[0].headers["allow"] == "GET, HEAD, PUT, OPTIONS"


async def test_unrouted_requests_are_not_asked_for_a_key(settings: Settings, redis_url: str) -> None:
    """Keys are checked once a request is routed: a keyless DELETE is 405, a keyless POST elsewhere 404."""
    async with app_client(limited(settings, redis_url, require_key_for_reads=True)) as client:
        assert (await client.request("DELETE", "/products/1")).status_code == 405
        assert (await client.post("/products/1/x")).status_code == 404
        assert (await client.get("/products/1")).status_code == 401


async def test_rate_limiting_can_be_turned_off(settings: Settings, new_product: NewProduct) -> None:
    """With PRODUCTCORE_RATE_LIMIT_ENABLED=false nothing is counted and no RateLimit fields are sent."""
    product = await new_product()
    async with app_client(limited(settings, None, rate_limit_enabled=False)) as client:
        responses = [await client.get(f"/products/{product.id}") for _ in range(120)]
    assert {r.status_code for r in responses} == {200}
    assert not any("ratelimit" in r.headers or "ratelimit-policy" in r.headers for r in responses)


@pytest.fixture(name="from_address")
def _from_address() -> Any:
    """Open an HTTP client whose connections come from a given loopback address."""

    def client(base_url: str, address: str) -> httpx.AsyncClient:
        transport = httpx.AsyncHTTPTransport(local_address=address)
        return httpx.AsyncClient(base_url=base_url, transport=transport)

    return client


async def test_addresses_have_separate_budgets_and_untrusted_forwarded_for_is_ignored(
    settings: Settings, redis_url: str, new_product: NewProduct, from_address: Any
) -> None:
    """Over sockets: 127.0.0.2's 101st read is refused whatever X-Forwarded-For says; 127.0.0.3 reads."""
    product = await new_product()
    path = f"/products/{product.id}"
    with live_server(create_app(limited(settings, redis_url))) as url:
        async with from_address(url, "127.0.0.2") as spender, from_address(url, "127.0.0.3") as other:
            for _ in range(100):
                assert (await spender.get(path)).status_code == 200
            assert_rate_limited(await spender.get(path), "read", 100)
            spoofed = await spender.get(path, headers={"X-Forwarded-For": "198.51.100.23"})
            fresh = await other.get(path)
    assert_rate_limited(spoofed, "read", 100)
    assert fresh.status_code == 200
    assert remaining(fresh)[:2] == ("read", 99)


async def test_forwarded_for_from_a_trusted_proxy_names_the_client(
    settings: Settings, redis_url: str, new_product: NewProduct, from_address: Any
) -> None:
    """Behind a trusted proxy the right-most untrusted X-Forwarded-For hop is the client."""
    product = await new_product()
    path = f"/products/{product.id}"
    app = create_app(limited(settings, redis_url, rate_limit_read="3/minute", trusted_proxies="127.0.0.9"))
    with live_server(app) as url:
        async with from_address(url, "127.0.0.9") as proxy, from_address(url, "127.0.0.10") as direct:
            client_a = {"X-Forwarded-For": "203.0.113.7"}
            statuses = [(await proxy.get(path, headers=client_a)).status_code for _ in range(4)]
            # Client A forges a hop in front of its real address; the proxy appends the real one.
            forged = await proxy.get(path, headers={"X-Forwarded-For": "203.0.113.99, 203.0.113.7"})
            client_b = await proxy.get(path, headers={"X-Forwarded-For": "203.0.113.8"})
            chained = await proxy.get(path, headers={"X-Forwarded-For": "203.0.113.9, 127.0.0.9"})
            # An untrusted peer's header counts for nothing: 127.0.0.10 is keyed by its own address.
            untrusted = await direct.get(path, headers=client_a)
    assert statuses == [200, 200, 200, 429]
    assert forged.status_code == 429
    assert client_b.status_code == 200
    assert chained.status_code == 200
    assert remaining(chained)[:2] == ("read", 2)
    assert untrusted.status_code == 200
    assert remaining(untrusted)[:2] == ("read", 2)
