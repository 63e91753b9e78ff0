"""A database, products and an environment for ``productcore serve`` instances behind nginx."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest

from adapters.postgres import migrate
from entrypoints.apikeys import WRITE, generate
from tests.integration.nginx.cluster import Nginx, cluster
from tests.servers import scratch_database

PRODUCTS = 40

InstanceEnv = Callable[..., dict[str, str]]


@pytest.fixture(name="nginx_database", scope="package")
def _nginx_database(postgres_admin_url: str) -> Iterator[str]:
    """A migrated database of these tests' own (one relay per database), with products 1..40."""
    with scratch_database(postgres_admin_url, prefix="productcore_nginx") as url:
        asyncio.run(migrate(url))
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(
                "INSERT INTO products (name, description, price, stock) "
                "SELECT 'Nginx test product ' || n, 'behind nginx', 10.00, 5 FROM generate_series(1, %s) n",
                (PRODUCTS,),
            )
        yield url


@pytest.fixture(name="write_token", scope="package")
def _write_token() -> tuple[str, str]:
    """A write key: its token, and its PRODUCTCORE_API_KEYS entry."""
    token, key = generate("nginx", [WRITE])
    return token, key.config_entry


@pytest.fixture(name="instance_env", scope="package")
def _instance_env(nginx_database: str, redis_url: str, write_token: tuple[str, str]) -> InstanceEnv:
    """Build a ``productcore serve`` instance's environment; each call's budgets get a prefix of their own."""

    def build(read: str = "1000000/minute", **extra: str) -> dict[str, str]:
        run = uuid.uuid4().hex[:8]
        env = {k: v for k, v in os.environ.items() if not k.startswith("PRODUCTCORE_")}
        return env | {
            "PRODUCTCORE_DATABASE_URL": nginx_database,
            "PRODUCTCORE_REDIS_URL": redis_url,
            "PRODUCTCORE_CACHE_KEY_PREFIX": f"productcore-nginx-{run}:cache",
            "PRODUCTCORE_RATE_LIMIT_KEY_PREFIX": f"productcore-nginx-{run}:ratelimit",
            "PRODUCTCORE_TRUSTED_PROXIES": "127.0.0.1",  # nginx connects to the instances from there
            "PRODUCTCORE_API_KEYS": write_token[1],
            "PRODUCTCORE_RATE_LIMIT_READ": read,
            "PRODUCTCORE_RATE_LIMIT_WRITE": "1000000/minute",
            "PRODUCTCORE_LOG_LEVEL": "warning",
            **extra,
        }

    return build


@pytest.fixture(name="shared_cluster", scope="package")
def _shared_cluster(instance_env: InstanceEnv, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Nginx]:
    """Three instances behind nginx with ample budgets, for the tests that leave them running."""
    with cluster(instance_env(), tmp_path_factory.mktemp("nginx-shared")) as nginx:
        yield nginx


@pytest.fixture(name="workdir")
def _workdir(tmp_path: Path) -> Path:
    """A directory for a test's own cluster."""
    return tmp_path
