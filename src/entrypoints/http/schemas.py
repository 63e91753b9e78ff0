"""Request and response bodies of the HTTP API, kept apart from the domain model."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated

import msgspec

from productcore.model import Page, Product
from productcore.validation import MAX_STOCK


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


class PriceStockIn(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The body of ``PUT /products/{id}``: the new price (string or number, at most 2 decimals) and stock."""

    price: Annotated[
        Decimal,
        msgspec.Meta(description='Non-negative amount with at most two decimal places, e.g. "19.99"'),
    ]
    stock: Annotated[int, msgspec.Meta(ge=0, le=MAX_STOCK, description="Units in stock")]


class PageMeta(msgspec.Struct, frozen=True, kw_only=True):
    """Where a page sits: its number, size, order, and how many products there are in all."""

    page: int
    limit: int
    sort: str
    total: int
    total_is_exact: bool
    total_pages: int


class PageLinks(msgspec.Struct, frozen=True, kw_only=True):
    """Relative links to this page and its neighbours; ``next`` and ``prev`` use keyset cursors."""

    self: str
    first: str
    last: str
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


class FieldProblem(msgspec.Struct, frozen=True):
    """One invalid input: where it was (``query``, ``path``, ``body``, ``header``), its name, and why."""

    location: str
    field: str
    message: str


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
