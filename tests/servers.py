"""Real servers for integration tests: environment URLs, else testcontainers, else embedded servers."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

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


@contextmanager
def redis_server() -> Iterator[tuple[str, str]]:
    """Yield ``(kind, URL)`` of a Redis-compatible server the tests may use (and flush) freely."""
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
