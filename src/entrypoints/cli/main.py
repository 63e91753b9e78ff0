"""``productcore``: serve the API, migrate, load data, and read or change products from a shell."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import click
import msgspec

from adapters.embedded import embedded_postgres, shared_embedded_redis
from adapters.postgres import migrate
from entrypoints.cli.keys import keys, with_demo_key
from entrypoints.container import open_service
from entrypoints.settings import ConfigError, Settings
from productcore.errors import InvalidInput, ProductNotFound, ServiceUnavailable, VersionConflict
from productcore.model import PageRequest, PriceStock, SearchCriteria, Sort
from productcore.service import ProductService

T = TypeVar("T")
DEMO_PRODUCTS = 10_000


def load_settings() -> Settings:
    """Read the environment, turning a bad value into a usage error that names the variable."""
    try:
        return Settings.from_env()
    except ConfigError as error:
        raise click.UsageError(str(error)) from None


@contextmanager
def database(settings: Settings) -> Iterator[Settings]:
    """Yield settings with a database URL: the configured one, or that of an embedded server."""
    if settings.database_url is not None:
        yield settings
        return
    click.echo(f"No PRODUCTCORE_DATABASE_URL: using embedded PostgreSQL in {settings.data_path}", err=True)
    with embedded_postgres(settings.data_path / "postgres") as url:
        yield msgspec.structs.replace(settings, database_url=url)


@contextmanager
def cache_server(settings: Settings) -> Iterator[Settings]:
    """Yield settings with a Redis URL: the configured one, or the data directory's embedded server's."""
    if not settings.cache_enabled or settings.redis_url is not None:
        yield settings
        return
    click.echo(f"No PRODUCTCORE_REDIS_URL: using embedded Valkey in {settings.data_path}", err=True)
    with shared_embedded_redis(settings.data_path / "valkey") as url:
        yield msgspec.structs.replace(settings, redis_url=url)


def _url(settings: Settings) -> str:
    assert settings.database_url is not None
    return settings.database_url


def with_service(action: Callable[[ProductService], Awaitable[T]]) -> T:
    """Run ``action`` against a ready service, mapping domain errors to exit codes."""
    # One-shot commands read and write PostgreSQL directly; a running server's relay carries
    # their writes to the caches.
    with database(msgspec.structs.replace(load_settings(), cache_enabled=False)) as settings:

        async def run() -> T:
            async with open_service(settings) as service:
                return await action(service)

        try:
            return asyncio.run(run())
        except ProductNotFound as error:
            raise click.ClickException(str(error)) from None
        except (InvalidInput, VersionConflict) as error:
            raise click.UsageError(str(error)) from None
        except ServiceUnavailable as error:
            click.echo(f"Error: {error}", err=True)
            sys.exit(3)


def _emit(value: Any) -> None:
    click.echo(msgspec.json.format(msgspec.json.encode(value), indent=2))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="productcore")
def cli() -> None:
    """Product prices and stock over PostgreSQL, as an HTTP API and from the shell.

    Configuration comes from PRODUCTCORE_* environment variables; with no
    PRODUCTCORE_DATABASE_URL, an embedded PostgreSQL keeps its data in a per-user directory.
    """


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, envvar="PRODUCTCORE_HOST")
@click.option(
    "--port", default=8000, show_default=True, type=click.IntRange(0, 65535), envvar="PRODUCTCORE_PORT"
)
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64), help="Worker processes.")
@click.option("--demo", is_flag=True, help=f"Load {DEMO_PRODUCTS:,} demo products if the catalogue is empty.")
def serve(host: str, port: int, workers: int, demo: bool) -> None:
    """Serve the HTTP API (docs at /docs)."""
    import uvicorn

    from entrypoints.cli.loading import seed_if_empty

    with database(load_settings()) as settings, cache_server(settings) as settings:
        url = _url(settings)
        asyncio.run(migrate(url))
        if settings.redis_url is not None:
            os.environ["PRODUCTCORE_REDIS_URL"] = settings.redis_url
        if demo:
            seed_if_empty(url, DEMO_PRODUCTS)
            token, os.environ["PRODUCTCORE_API_KEYS"] = with_demo_key(settings.api_keys)
            click.echo(f"demo write key (valid for this run only): {token}", err=True)
            click.echo(
                f"  curl -X PUT http://{host}:{port}/products/1 -H 'Authorization: Bearer {token}' "
                """-H 'Content-Type: application/json' -d '{"price": "19.99", "stock": 5}'""",
                err=True,
            )
        os.environ["PRODUCTCORE_DATABASE_URL"] = url
        os.environ["PRODUCTCORE_MIGRATE_ON_START"] = "false"
        click.echo(f"productcore on http://{host}:{port}  (docs: http://{host}:{port}/docs)", err=True)
        uvicorn.run(
            "entrypoints.http.app:create_app",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level=settings.log_level.lower(),
            # The access gate reads X-Forwarded-For itself, from PRODUCTCORE_TRUSTED_PROXIES only.
            proxy_headers=False,
        )


@cli.command()
def relay() -> None:
    """Run the cache relay alone: carry committed changes from the outbox to Redis (Ctrl-C stops).

    Every ``serve`` runs one too; of all relays on a database one is active, the others wait.
    """
    from entrypoints.cli.relaying import run_relay

    with database(load_settings()) as settings, cache_server(settings) as settings:
        asyncio.run(migrate(_url(settings)))
        try:
            asyncio.run(run_relay(settings))
        except KeyboardInterrupt:
            click.echo("relay stopped", err=True)


@cli.group()
def db() -> None:
    """Database schema."""


@db.command("migrate")
def db_migrate() -> None:
    """Apply pending schema migrations (a no-op when there are none)."""
    with database(load_settings()) as settings:
        applied = asyncio.run(migrate(_url(settings)))
    click.echo("\n".join(f"applied {m.version:04d}_{m.name}" for m in applied) or "schema is up to date")


@cli.command()
@click.option("--count", required=True, type=click.IntRange(1, 100_000_000), help="How many products to add.")
@click.option("--seed", "random_seed", default=20_261_125, show_default=True, help="Random seed.")
def seed(count: int, random_seed: int) -> None:
    """Add COUNT synthetic products with COPY."""
    from entrypoints.cli.loading import seed_products

    with database(load_settings()) as settings:
        url = _url(settings)
        asyncio.run(migrate(url))
        seed_products(url, count, random_seed)


@cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--skip-invalid", is_flag=True, help="Load the valid rows even if some are bad.")
def import_(file: Path, skip_invalid: bool) -> None:
    """Load products from FILE (CSV with a header, or JSON Lines: .jsonl/.ndjson)."""
    from entrypoints.cli.loading import import_file

    with database(load_settings()) as settings:
        url = _url(settings)
        asyncio.run(migrate(url))
        if not import_file(url, file, skip_invalid=skip_invalid):
            sys.exit(1)


@cli.command()
@click.argument("product_id", type=click.IntRange(1))
def get(product_id: int) -> None:
    """Print one product as JSON."""
    _emit(with_service(lambda s: s.get(product_id)))


@cli.command()
@click.option("--name", help="Case-insensitive substring of the name.")
@click.option("--min-price", type=Decimal)
@click.option("--max-price", type=Decimal)
@click.option("--page", default=1, show_default=True, type=int)
@click.option("--limit", default=20, show_default=True, type=int)
@click.option("--sort", default="id", show_default=True, type=click.Choice([s.value for s in Sort]))
def search(
    name: str | None, min_price: Decimal | None, max_price: Decimal | None, page: int, limit: int, sort: str
) -> None:
    """Print a page of products matching a name and/or a price range."""
    criteria = SearchCriteria(name=name, min_price=min_price, max_price=max_price)
    result = with_service(lambda s: s.search(criteria, PageRequest(page=page, limit=limit, sort=Sort(sort))))
    _emit(
        {
            "items": result.items,
            "page": result.page,
            "limit": result.limit,
            "total": result.total.value,
            "total_is_exact": result.total.exact,
            "total_pages": result.total_pages,
        }
    )


@cli.command()
@click.argument("product_id", type=click.IntRange(1))
@click.option("--price", required=True, type=Decimal, help="New price, e.g. 19.99.")
@click.option("--stock", required=True, type=int, help="New stock level.")
@click.option("--if-version", type=int, help="Only write if the product is at this version.")
def update(product_id: int, price: Decimal, stock: int, if_version: int | None) -> None:
    """Set a product's price and stock; print it as stored."""
    change = PriceStock(price=price, stock=stock)
    _emit(with_service(lambda s: s.update(product_id, change, expected_version=if_version)))


cli.add_command(keys)


def _stop(signum: int, frame: object) -> None:
    """SIGTERM ends the process the orderly way Ctrl-C does, so embedded servers are stopped too."""
    raise SystemExit(0)


def main() -> None:
    """Console script entry point."""
    signal.signal(signal.SIGTERM, _stop)
    cli(prog_name="productcore")


if __name__ == "__main__":
    main()
