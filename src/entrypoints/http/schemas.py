"""Request and response bodies of the HTTP API, kept apart from the domain model."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated

import msgspec
from litestar.openapi.spec import OpenAPI, Schema

from productcore.model import Page, PriceStock, Product
from productcore.validation import MAX_PRICE, MAX_STOCK, PRICE_TEXT


class ProductOut(msgspec.Struct, frozen=True, kw_only=True):
    """A product. ``price`` is a decimal string with two places; ``version`` is also the ETag."""

    id: int
    name: str
    description: str | None
    price: Decimal
    stock: int
    version: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, product: Product) -> ProductOut:
        """Copy a domain product into its response shape."""
        return cls(**msgspec.structs.asdict(product))


PRICE_PATTERN = f"^{PRICE_TEXT}$"
"""The core's price text (``productcore.validation.parse_price``) as an OpenAPI pattern."""
_PRICE_SCHEMA = {
    "type": None,
    "one_of": [
        {"type": "string", "pattern": PRICE_PATTERN, "examples": ["19.99"]},
        {
            "type": "number",
            "minimum": 0,
            "maximum": float(MAX_PRICE),
            "multipleOf": 0.01,
            "examples": [19.99],
        },
    ],
}


class PriceStockIn(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The body of ``PUT /products/{id}``: the new price (string or number, at most 2 decimals) and stock.

    Read by ``entrypoints.http.body.read_price_stock``, which keeps ``price`` as the exact decimal
    it read (a string by ``parse_price``, a number from its digits).
    """

    price: Annotated[
        str | int | float,
        msgspec.Meta(
            description='Non-negative amount with at most two decimal places: "19.99" or 19.99',
            extra_json_schema={"extra": _PRICE_SCHEMA},
        ),
    ]
    stock: Annotated[
        int,
        msgspec.Meta(
            ge=0,
            le=MAX_STOCK,
            description="Units in stock: a JSON integer, written without a fraction or exponent "
            "(1.0 and 1e1 are refused)",
        ),
    ]

    def change(self) -> PriceStock:
        """The domain change this body asks for, the price read exactly from its text."""
        return PriceStock(Decimal(str(self.price)), self.stock)


class PageMeta(msgspec.Struct, frozen=True, kw_only=True):
    """Where a page sits: its number, size, order, and how many products there are in all."""

    page: int
    limit: int
    sort: str
    total: int
    total_is_exact: bool
    total_pages: int


class PageLinks(msgspec.Struct, frozen=True, kw_only=True):
    """Relative links to this page and its neighbours; ``next`` and ``prev`` use keyset cursors.

    ``last`` is null when the total is an estimate (``total_is_exact`` false) or zero: it only ever
    names a page that has products.
    """

    self: str
    first: str
    last: str | None
    next: str | None
    prev: str | None


class ProductPage(msgspec.Struct, frozen=True, kw_only=True):
    """One page of products with its metadata and navigation links."""

    items: list[ProductOut]
    meta: PageMeta
    links: PageLinks

    @classmethod
    def of(cls, page: Page, links: PageLinks) -> ProductPage:
        """Build the response body of a domain page."""
        return cls(
            items=[ProductOut.of(p) for p in page.items],
            meta=PageMeta(
                page=page.page,
                limit=page.limit,
                sort=page.sort.value,
                total=page.total.value,
                total_is_exact=page.total.exact,
                total_pages=page.total_pages,
            ),
            links=links,
        )


class FieldProblem(msgspec.Struct, frozen=True, omit_defaults=True):
    """One invalid input: its name, why, and where it was (``query``, ``path``, ``body``, ``header``).

    ``location`` is absent when a rule of the service (not the request's shape) refused the value.
    """

    field: str
    message: str
    location: str | None = None


class Problem(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """An RFC 9457 problem details body (``application/problem+json``)."""

    type: str
    title: str
    status: int
    detail: str
    instance: str
    request_id: str
    errors: list[FieldProblem] | None = None
    current_version: int | None = None


def close_objects(openapi: OpenAPI, *structs: type[msgspec.Struct]) -> None:
    """Mark bodies that refuse unknown fields ``additionalProperties: false`` (Litestar leaves it out)."""
    schemas = openapi.components.schemas if openapi.components else None
    for struct in structs:
        component = schemas.get(struct.__name__) if schemas else None
        if isinstance(component, Schema) and struct.__struct_config__.forbid_unknown_fields:
            component.additional_properties = False
