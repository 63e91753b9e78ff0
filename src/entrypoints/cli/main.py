"""``productcore``: serve the API, migrate, load data, and read or change products from a shell."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Awaitable, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import click
import msgspec

from adapters.postgres import migrate
from entrypoints.cli.failures import FailingCleanly, Failure, sigterm_fails
from entrypoints.cli.keys import keys, with_demo_key
from entrypoints.cli.params import PRICE, PRODUCT_ID, STOCK, WholeNumberType
from entrypoints.cli.servers import cache_server, database, load_settings, url_of
from entrypoints.container import open_service
from productcore.errors import InvalidInput, ProductNotFound, ServiceUnavailable, VersionConflict
from productcore.model import PageRequest, PriceStock, SearchCriteria, Sort
from productcore.service import ProductService
from productcore.validation import MAX_ID, MAX_LIMIT, MAX_PAGE, check_criteria, check_page_request

T = TypeVar("T")
DEMO_PRODUCTS = 10_000


def with_service(action: Callable[[ProductService], Awaitable[T]]) -> T:
    """Run ``action`` against a ready service, mapping domain errors to exit codes."""
    # One-shot commands read and write PostgreSQL directly; a running server's relay carries
    # their writes to the caches. They need no cache, relay or rate limiter.
    one_shot = msgspec.structs.replace(
        load_settings(), cache_enabled=False, relay_enabled=False, rate_limit_enabled=False
    )
    with database(one_shot) as settings:

        async def run() -> T:
            async with open_service(settings) as service:
                return await action(service)

        try:
            return asyncio.run(run())
        except (ProductNotFound, VersionConflict, ServiceUnavailable) as error:
            raise Failure(str(error)) from None
        except InvalidInput as error:
            raise click.UsageError(str(error)) from None


def _emit(value: Any) -> None:
    click.echo(msgspec.json.format(msgspec.json.encode(value), indent=2))


@click.group(cls=FailingCleanly, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="productcore")
def cli() -> None:
    """Product prices and stock over PostgreSQL, as an HTTP API and from the shell.

    Configuration comes from PRODUCTCORE_* environment variables; with no
    PRODUCTCORE_DATABASE_URL, an embedded PostgreSQL keeps its data in a per-user directory.
    """


@cli.command()
@click.option("--host", help="Address to listen on.  [default: PRODUCTCORE_HOST, else 127.0.0.1]")
@click.option(
    "--port", type=click.IntRange(0, 65535), help="Port to listen on.  [default: PRODUCTCORE_PORT, else 8000]"
)
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64), help="Worker processes.")
@click.option("--demo", is_flag=True, help=f"Load {DEMO_PRODUCTS:,} demo products if the catalogue is empty.")
def serve(host: str | None, port: int | None, workers: int, demo: bool) -> None:
    """Serve the HTTP API (docs at /docs)."""
    from entrypoints.cli.loading import seed_if_empty
    from entrypoints.cli.serving import run_server

    configured = load_settings()
    host = configured.host if host is None else host
    port = configured.port if port is None else port
    with database(configured) as settings, cache_server(settings) as settings:
        url = url_of(settings)
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
        run_server(
            host,
            port,
            workers=workers,
            log_level=settings.log_level,
            drain=settings.shutdown_drain,
            timeout=settings.shutdown_timeout,
        )


@cli.command()
def relay() -> None:
    """Run the cache relay alone: carry committed changes from the outbox to Redis (Ctrl-C stops).

    Every 'productcore serve' runs one too; of all relays on a database one is active, the others wait.
    """
    from entrypoints.cli.relaying import run_relay

    with database(load_settings()) as settings, cache_server(settings) as settings:
        asyncio.run(migrate(url_of(settings)))
        try:
            asyncio.run(run_relay(settings))
        except (KeyboardInterrupt, asyncio.CancelledError):
            click.echo("relay stopped", err=True)


@cli.group()
def db() -> None:
    """Database schema."""


@db.command("migrate")
def db_migrate() -> None:
    """Apply pending schema migrations (a no-op when there are none)."""
    with database(load_settings()) as settings:
        applied = asyncio.run(migrate(url_of(settings)))
    click.echo("\n".join(f"applied {m.version:04d}_{m.name}" for m in applied) or "schema is up to date")


@cli.command()
@click.option("--count", required=True, type=click.IntRange(1, 100_000_000), help="How many products to add.")
@click.option("--seed", "random_seed", default=20_261_125, show_default=True, help="Random seed.")
def seed(count: int, random_seed: int) -> None:
    """Add COUNT synthetic products with COPY."""
    from entrypoints.cli.loading import seed_products

    with sigterm_fails(), database(load_settings()) as settings:
        url = url_of(settings)
        asyncio.run(migrate(url))
        seed_products(url, count, random_seed)


@cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--skip-invalid", is_flag=True, help="Load the valid rows even if some are bad.")
@click.option(
    "--format",
    "file_format",
    type=click.Choice(["csv", "jsonl"]),
    help="The file's format.  [default: from its extension: .csv; .jsonl, .ndjson or .json]",
)
def import_(file: Path, skip_invalid: bool, file_format: str | None) -> None:
    """Load products from FILE: CSV with a header, or JSON Lines (one object per line)."""
    from entrypoints.cli.importing import format_of
    from entrypoints.cli.loading import import_file

    try:
        chosen = file_format or format_of(file)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="FILE") from None
    with sigterm_fails(), database(load_settings()) as settings:
        url = url_of(settings)
        asyncio.run(migrate(url))
        if not import_file(url, file, chosen, skip_invalid=skip_invalid):
            raise click.exceptions.Exit(1)


@cli.command()
@click.argument("product_id", type=PRODUCT_ID)
def get(product_id: int) -> None:
    """Print one product as JSON."""
    _emit(with_service(lambda s: s.get(product_id)))


@cli.command()
@click.option("--name", help="Case-insensitive substring of the name.")
@click.option("--min-price", type=PRICE, help="Lowest price, inclusive.")
@click.option("--max-price", type=PRICE, help="Highest price, inclusive.")
@click.option("--page", default=1, show_default=True, type=WholeNumberType(1, MAX_PAGE))
@click.option("--limit", default=20, show_default=True, type=WholeNumberType(1, MAX_LIMIT))
@click.option("--sort", default="id", show_default=True, type=click.Choice([s.value for s in Sort]))
def search(
    name: str | None, min_price: Decimal | None, max_price: Decimal | None, page: int, limit: int, sort: str
) -> None:
    """Print a page of products matching a name and/or a price range, shaped like the HTTP body."""
    request = PageRequest(page=page, limit=limit, sort=Sort(sort))
    try:
        criteria = check_criteria(SearchCriteria(name=name, min_price=min_price, max_price=max_price))
        check_page_request(request)
    except InvalidInput as error:
        raise click.UsageError(str(error)) from None
    result = with_service(lambda s: s.search(criteria, request))
    _emit(
        {
            "items": result.items,
            "meta": {
                "page": result.page,
                "limit": result.limit,
                "sort": result.sort.value,
                "total": result.total.value,
                "total_is_exact": result.total.exact,
                "total_pages": result.total_pages,
            },
        }
    )


@cli.command()
@click.argument("product_id", type=PRODUCT_ID)
@click.option("--price", required=True, type=PRICE, help="New price, e.g. 19.99.")
@click.option("--stock", required=True, type=STOCK, help="New stock level.")
@click.option(
    "--if-version", type=WholeNumberType(1, MAX_ID), help="Only write if the product is at this version."
)
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
