"""The products controller and problem mapping of the real app, over an in-memory service (no servers)."""

from __future__ import annotations

from decimal import Decimal

from litestar import Litestar
from litestar.datastructures import State

from adapters.memory import InMemoryProductRepository
from entrypoints.http.problems import problem_details_plugin
from entrypoints.http.products import ProductController
from entrypoints.settings import Settings
from productcore import ProductService


def products_app() -> Litestar:
    """An app answering ``/products`` as the service does, with product 1 in stock.

    Only the front door (access rules, input limits) is left out: what it refuses never reaches the
    controller, whose checks are what these tests compare with the CLI and the import.
    """
    repository = InMemoryProductRepository()
    repository.add_many([("Lamp", Decimal("10.00"), 5)])
    return Litestar(
        route_handlers=[ProductController],
        plugins=[problem_details_plugin()],
        state=State({"product_service": ProductService(repository), "settings": Settings()}),
    )
