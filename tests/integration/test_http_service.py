"""What every response shares: request ids, problems for failures, health, OpenAPI, 503 without a database."""

from __future__ import annotations

import asyncio
import random
import tempfile
import time
import uuid
from pathlib import Path

import psycopg
from dependency_injector import providers
from litestar.testing import AsyncTestClient

from adapters.embedded import embedded_postgres
from entrypoints.container import Application
from entrypoints.http import create_app
from entrypoints.settings import Settings
from tests.integration.helpers import assert_problem


async def test_every_response_has_a_request_id_and_a_sane_one_is_echoed(client: AsyncTestClient) -> None:
    """Successes, errors and unknown routes carry X-Request-ID; a caller's well-formed id is kept."""
    for path in ["/health/live", "/products/0", "/no/such/route"]:
        assert len((await client.get(path)).headers["x-request-id"]) >= 16
    echoed = await client.get("/health/live", headers={"X-Request-ID": "trace-abc.123"})
    assert echoed.headers["x-request-id"] == "trace-abc.123"
    replaced = await client.get("/health/live", headers={"X-Request-ID": "bad id\twith spaces" + "x" * 200})
    assert replaced.headers["x-request-id"] != "bad id\twith spaces" + "x" * 200


async def test_unknown_routes_and_methods_are_problems(client: AsyncTestClient) -> None:
    """404 for unknown paths and 405 for unsupported methods, as problem bodies."""
    assert_problem(await client.get("/nothing-here"), 404)
    body = assert_problem(await client.delete("/products/1"), 405)
    assert body["title"] == "Method Not Allowed"


class _Exploding:
    """A repository whose every call fails the way a bug would."""

    async def get(self, product_id: int) -> None:
        raise RuntimeError("secret internal detail: table products_shadow")

    fetch = count = update = get


async def test_unexpected_errors_are_500_problems_without_internals(settings: Settings) -> None:
    """A bug becomes a generic 500 problem with a request id; nothing of the error reaches the client."""
    container = Application(settings=settings)
    container.services.repository.override(providers.Object(_Exploding()))
    async with AsyncTestClient(app=create_app(settings, container)) as client:
        response = await client.get(f"/products/{random.randint(10**12, 10**13)}")  # never cached
    body = assert_problem(response, 500)
    assert "secret" not in response.text and "products_shadow" not in response.text
    assert "request id" in body["detail"]


async def test_health_probes(client: AsyncTestClient) -> None:
    """live answers while the process runs; ready checks the database."""
    assert (await client.get("/health/live")).json() == {"status": "ok"}
    ready = await client.get("/health/ready")
    assert ready.status_code == 200
    assert ready.json()["checks"]["database"]["ok"] is True


async def test_openapi_schema_and_docs_are_served(client: AsyncTestClient) -> None:
    """The OpenAPI document names every operation; the docs page renders."""
    schema = (await client.get("/docs/openapi.json")).json()
    operations = {op["operationId"] for path in schema["paths"].values() for op in path.values()}
    assert {"getProduct", "listProducts", "updateProduct", "searchProducts"} <= operations
    assert "/products/{product_id}" in schema["paths"]
    docs = await client.get("/docs")
    assert docs.status_code == 200 and "text/html" in docs.headers["content-type"]


async def test_database_outage_gives_503_quickly_and_recovers(redis_url: str) -> None:
    """With the database stopped, reads the cache cannot answer get 503 problems: the first few
    within the pool timeout, then, with the breaker open, at once; cached products are still
    served; everything recovers when the database returns."""
    with tempfile.TemporaryDirectory(prefix="productcore-outage-") as data:
        server = embedded_postgres(Path(data) / "pg")
        url = await asyncio.to_thread(server.__enter__)
        settings = Settings.from_env(
            {},
            database_url=url,
            redis_url=redis_url,
            cache_key_prefix=f"productcore-outage-{uuid.uuid4().hex[:8]}",
            db_pool_timeout=1.0,
            db_connect_timeout=1.0,
            db_breaker_failures=3,
            db_breaker_reset=1.0,
            rate_limit_enabled=False,
        )
        async with AsyncTestClient(app=create_app(settings)) as client:
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute("INSERT INTO products (name, price, stock) VALUES ('Outage lamp', 5, 1)")
            assert (await client.get("/products/1")).status_code == 200
            await asyncio.to_thread(server.__exit__, None, None, None)

            async def timed(path: str, **params: object) -> float:
                started = time.perf_counter()
                response = await client.get(path, params=params)
                elapsed = time.perf_counter() - started
                body = assert_problem(response, 503)
                assert response.headers["retry-after"] == "1"
                assert "Traceback" not in body["detail"]
                return elapsed

            # Until the breaker opens, each request fails within the pool timeout (1 s): at once on a
            # connection used a moment ago (its query fails), else after the pool's wait for a new one.
            waited = [await timed(f"/products/{n}") for n in (2, 3, 4)]
            assert all(elapsed < 5 for elapsed in waited), waited
            # Then: refused at once, products and pages alike, whatever the pool would have waited.
            fast = [await timed(f"/products/{n}") for n in range(5, 25)]
            fast.append(await timed("/products", limit=1))
            fast.append(await timed("/products/search", name="lamp"))
            median = sorted(fast)[len(fast) // 2]
            assert median < 0.1 * settings.db_pool_timeout and max(fast) < 0.5 * settings.db_pool_timeout, (
                fast
            )
            print(
                f"\n503 while the database is down: first {len(waited)} after "
                f"{', '.join(f'{e * 1000:.0f}' for e in waited)} ms (pool timeout 1 s), then "
                f"{len(fast)} with the breaker open: median {sorted(fast)[len(fast) // 2] * 1000:.1f} ms, "
                f"max {max(fast) * 1000:.1f} ms"
            )
            assert (await client.get("/products/1")).json()["name"] == "Outage lamp"
            ready = await client.get("/health/ready")
            assert ready.status_code == 503
            assert ready.json()["checks"]["database"]["details"]["breaker"] in {"open", "half-open"}
            server = embedded_postgres(Path(data) / "pg")
            await asyncio.to_thread(server.__enter__)
            back = time.monotonic()
            deadline = back + 10
            while (
                status := (await client.get("/products/2")).status_code
            ) == 503 and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            assert status == 404
            print(f"answering again {(time.monotonic() - back) * 1000:.0f} ms after the database returned")
            assert (await client.get("/health/ready")).json()["checks"]["database"]["details"][
                "breaker"
            ] == "closed"
        await asyncio.to_thread(server.__exit__, None, None, None)
