"""How long a black-holed relay holds the relay lock: drop its TCP packets and time the takeover.

Usage (root, iptables, a PostgreSQL reached over TCP; creates and drops a database of its own):
    python bench/relay_blackhole.py --admin-url postgresql://postgres@127.0.0.1:5432/postgres [--no-keepalive]

Starts two relay candidates, finds the active one's client port, DROPs every loopback packet to or
from that port (only that connection is affected; the rules are removed at the end), and reports
the seconds until another session holds the lock. ``--no-keepalive`` connects the relays without
the keepalive settings, as before they existed.
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import time
import uuid
from collections.abc import Sequence

import psycopg
from psycopg import AsyncConnection, sql

from adapters.postgres import migrate
from adapters.postgres import relay as relay_module
from adapters.postgres.relay import RELAY_LOCK, PostgresChangeOutbox
from entrypoints.consumers.relay import ChangeRelayRunner
from productcore.caching import Change

_HOLDER = """
SELECT a.client_port FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
WHERE l.locktype = 'advisory' AND l.granted AND l.objid = %s AND a.datname = current_database()
"""


async def _noop(changes: Sequence[Change]) -> None:
    return None


def _holder(url: str) -> int | None:
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(_HOLDER, (RELAY_LOCK & 0xFFFFFFFF,)).fetchone()
    return int(row[0]) if row else None


def _rules(action: str, port: int) -> None:
    for match in ("--sport", "--dport"):
        subprocess.run(
            ["iptables", action, "INPUT", "-i", "lo", "-p", "tcp", match, str(port), "-j", "DROP"],
            check=action == "-I",
        )


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--admin-url", required=True)
    parser.add_argument("--no-keepalive", action="store_true")
    parser.add_argument("--give-up", type=float, default=120.0)
    args = parser.parse_args()
    if args.no_keepalive:

        async def plain(conninfo: str) -> AsyncConnection:
            return await AsyncConnection.connect(
                conninfo, autocommit=True, application_name="productcore-relay"
            )

        relay_module.relay_connection = plain  # type: ignore[assignment]
    name = f"productcore_blackhole_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(args.admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = psycopg.conninfo.make_conninfo(args.admin_url, dbname=name)
    port = None
    try:
        await migrate(url)
        first = ChangeRelayRunner(PostgresChangeOutbox(url), _noop, takeover_interval=0.5)
        tasks = [asyncio.create_task(first.run())]
        await asyncio.wait_for(first.active.wait(), 10)
        tasks.append(
            asyncio.create_task(
                ChangeRelayRunner(PostgresChangeOutbox(url), _noop, takeover_interval=0.5).run()
            )
        )
        await asyncio.sleep(1)
        port = _holder(url)
        assert port is not None
        _rules("-I", port)
        started = time.monotonic()
        while (holder := _holder(url)) in (port, None) and time.monotonic() - started < args.give_up:  # noqa: ASYNC110
            await asyncio.sleep(0.2)
        took = time.monotonic() - started
        how = "without keepalives" if args.no_keepalive else "with keepalives"
        if holder in (port, None):
            print(f"{how}: the black-holed relay still holds the lock after {took:.0f} s (gave up)")
        else:
            print(
                f"{how}: another session holds the relay lock {took:.1f} s after its holder was black-holed"
            )
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    finally:
        if port is not None:
            _rules("-D", port)
        with psycopg.connect(args.admin_url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


if __name__ == "__main__":
    asyncio.run(main())
