"""A PostgreSQL crash of 5 s or 40 s (5 min: ``pytest -m long``): what clients see, and how fast it ends."""

from __future__ import annotations

import asyncio
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from litestar.testing import AsyncTestClient

from entrypoints.http import create_app
from entrypoints.settings import Settings
from tests.servers import RestartablePostgres

RECOVERY_BOUND = 2.0
"""Seconds from the database accepting connections again to the service answering from it."""


@dataclass(frozen=True)
class Answer:
    """One response a client got: when it asked, what it got, how long it took."""

    at: float
    status: int
    took: float
    retry_after: str | None


async def _client(client: AsyncTestClient, path: str, stop: asyncio.Event, answers: list[Answer]) -> None:
    """A client asking every 50 ms, as long as the test runs."""
    while not stop.is_set():
        started = time.monotonic()
        response = await client.get(path)
        answers.append(
            Answer(
                started, response.status_code, time.monotonic() - started, response.headers.get("retry-after")
            )
        )
        await asyncio.sleep(0.05)


async def _accepting_since(url: str, stop: asyncio.Event) -> tuple[float, float]:
    """When a plain connection to the database was last refused, and when one first worked (polled
    every 20 ms): the database came back between the two."""
    refused = time.monotonic()
    while not stop.is_set():
        attempt = time.monotonic()
        try:
            conn = await psycopg.AsyncConnection.connect(url, connect_timeout=1)
        except psycopg.OperationalError:
            refused = attempt
            await asyncio.sleep(0.02)
            continue
        await conn.close()
        return refused, time.monotonic()
    raise AssertionError("stopped before the database came back")


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


@pytest.mark.parametrize("outage", [5, 40, pytest.param(300, marks=pytest.mark.long)])
async def test_service_answers_again_within_2_s_of_the_database_whatever_the_outage(
    outage: int, redis_url: str
) -> None:
    """With PostgreSQL crashed, pages get 503 with Retry-After (cached products are still served); once
    it accepts connections again, pages are answered from it within 2 s, whatever the outage's length."""
    with (
        tempfile.TemporaryDirectory(prefix="productcore-outage-") as data,
        RestartablePostgres(Path(data)) as database,
    ):
        url = database.url
        settings = Settings.from_env(  # the pool's and breaker's defaults are under test
            {},
            database_url=url,
            redis_url=redis_url,
            cache_key_prefix=f"productcore-outage-{uuid.uuid4().hex[:8]}",
            rate_limit_enabled=False,
        )
        async with AsyncTestClient(app=create_app(settings)) as client:
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute("INSERT INTO products (name, price, stock) VALUES ('Outage lamp', 5, 1)")
            assert (await client.get("/products/1")).status_code == 200  # now cached
            pages: list[Answer] = []
            cached: list[Answer] = []
            stop = asyncio.Event()
            clients = [
                asyncio.create_task(_client(client, "/products?limit=1", stop, pages)) for _ in range(4)
            ]
            clients.append(asyncio.create_task(_client(client, "/products/1", stop, cached)))
            await asyncio.sleep(0.5)
            await asyncio.to_thread(database.crash)
            crashed = time.monotonic()
            await asyncio.sleep(outage)
            watching = asyncio.create_task(_accepting_since(url, stop))
            await asyncio.to_thread(database.start)
            still_down, back = await watching
            deadline = time.monotonic() + RECOVERY_BOUND + 10
            while not any(a.at >= back and a.status == 200 for a in pages) and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            await asyncio.sleep(2.0)  # and then a while of normal service
            ready = await client.get("/health/ready")
            stop.set()
            await asyncio.gather(*clients)

    # Answered while the database was surely down (one that came back between the watcher's polls may
    # already serve pages before the watcher sees it).
    during = [a for a in pages if crashed + 0.2 <= a.at and a.at + a.took <= still_down]
    first_ok = min((a.at + a.took for a in pages if a.at >= back and a.status == 200), default=None)
    assert first_ok is not None, "no page was answered after the database came back"
    recovery = first_ok - back
    failed_after = [a for a in pages if a.at + a.took > first_ok and a.status != 200]
    waits = sorted(a.took for a in during)
    print(
        f"\noutage {outage} s: {len(during)} page requests during it, all "
        f"{sorted({a.status for a in during})} with Retry-After {sorted({a.retry_after for a in during})}; "
        f"median {_ms(waits[len(waits) // 2])}, longest {_ms(waits[-1])}; cached product: "
        f"{sorted({a.status for a in cached})}; first page from the database {_ms(recovery)} after it "
        f"accepted connections; later failures: {len(failed_after)}"
    )
    assert {a.status for a in during} == {503}
    assert {a.retry_after for a in during} == {"1"}
    assert {a.status for a in cached} == {200}
    assert recovery < RECOVERY_BOUND, f"the service took {_ms(recovery)} to use the database again"
    assert not failed_after, failed_after[:5]
    assert ready.status_code == 200, ready.text
