"""The relay starts again after any error, and readiness fails when no process holds the relay lock."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Sequence

import psycopg
import pytest

from adapters.postgres import migrate, open_pool
from adapters.postgres.relay import RELAY_LOCK, PostgresChangeOutbox, PostgresOutboxMonitor, relay_connection
from entrypoints.consumers.relay import ChangeRelayRunner, RelayHealth
from productcore.caching import Change
from tests.servers import scratch_database


@pytest.fixture(name="own_url")
def _own_url(postgres_admin_url: str) -> Iterator[str]:
    """A migrated database of this test's own (the relay lock is per database)."""
    with scratch_database(postgres_admin_url, prefix="productcore_relay") as url:
        asyncio.run(migrate(url))
        yield url


async def test_the_relay_starts_again_after_an_unexpected_error(own_url: str) -> None:
    """A bug in applying a batch (not a database error) is logged and the relay starts again: the
    change it failed on is relayed on the next try, and the relay is active again."""
    applied: list[Change] = []
    failures = [RuntimeError("a bug in applying changes")]

    async def apply(changes: Sequence[Change]) -> None:
        if failures:
            raise failures.pop()
        applied.extend(changes)

    runner = ChangeRelayRunner(PostgresChangeOutbox(own_url), apply, poll_interval=0.2)
    task = asyncio.create_task(runner.run())
    try:
        with psycopg.connect(own_url, autocommit=True) as conn:
            conn.execute("INSERT INTO products (name, price, stock) VALUES ('Relay lamp', 1, 1)")
        async with asyncio.timeout(10):
            while runner.relayed == 0 or runner.role != "active":
                assert not task.done(), f"the relay ended: {task.exception()!r}"
                await asyncio.sleep(0.02)
        assert runner.restarts == 1 and runner.last_error is None and len(applied) == 1
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_readiness_fails_once_no_process_holds_the_relay_lock_for_longer_than_the_bound(
    own_url: str,
) -> None:
    """No relay anywhere: ready at first, not ready once the lock stayed free beyond the bound; a
    relay of another process (any session holding the lock) makes it ready again."""
    async with open_pool(own_url) as pool:
        health = RelayHealth(PostgresOutboxMonitor(pool), None, missing_after=0.2)
        first = await health.check()
        await asyncio.sleep(0.3)
        later = await health.check()
        with psycopg.connect(own_url, autocommit=True) as other:
            other.execute("SELECT pg_advisory_lock(%s)", (RELAY_LOCK,))
            held = await health.check()
    print(f"\nrelay check: {first.ok} at first, {later.ok} after 0.3 s ({later.details}), {held.ok} held")
    assert first.ok and not later.ok and held.ok
    assert later.details["lock_free_s"] >= 0.2


_SERVER_SIDE = ("tcp_keepalives_idle", "tcp_keepalives_interval", "tcp_keepalives_count", "tcp_user_timeout")


async def test_the_relay_connection_asks_both_ends_for_keepalives(own_url: str) -> None:
    """The relay's connection asks the client and PostgreSQL for TCP keepalives (5 s idle, 3 probes
    2 s apart, 15 s user timeout), so a black-holed relay's session, and with it the relay lock, is
    dropped within seconds instead of the kernel's two hours."""
    async with await relay_connection(own_url) as conn:
        client = conn.info.get_parameters()
        cur = await conn.execute(
            "SELECT name, setting, source FROM pg_settings WHERE name = ANY(%s) ORDER BY name",
            (list(_SERVER_SIDE),),
        )
        server = {name: (setting, source) for name, setting, source in await cur.fetchall()}
        over_tcp = not str(conn.info.host).startswith("/")
    print(f"\nrelay connection: client {client}; server {server}")
    assert {k: client.get(k) for k in ("keepalives", "keepalives_idle", "keepalives_interval")} == {
        "keepalives": "1",
        "keepalives_idle": "5",
        "keepalives_interval": "2",
    }
    assert client.get("keepalives_count") == "3" and client.get("tcp_user_timeout") == "15000"
    assert {source for _, source in server.values()} == {"client"}, server
    if over_tcp:  # a unix socket has no TCP settings to show (they read 0)
        assert server["tcp_keepalives_idle"][0] == "5" and server["tcp_user_timeout"][0] == "15000"
