"""PostgreSQL adapter: pool, migrations, the product repository, bulk loading and the change outbox."""

from adapters.postgres.health import PostgresHealth
from adapters.postgres.migrations import SchemaMismatch, check_schema, migrate
from adapters.postgres.pool import PoolSettings, open_pool
from adapters.postgres.repository import PostgresProductRepository

__all__ = [
    "PoolSettings",
    "PostgresHealth",
    "PostgresProductRepository",
    "SchemaMismatch",
    "check_schema",
    "migrate",
    "open_pool",
]
