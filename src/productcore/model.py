"""Domain values: products, price-and-stock changes, page requests, search criteria and pages."""

from __future__ import annotations

import enum
import math
from datetime import datetime
from decimal import Decimal

import msgspec


class Product(msgspec.Struct, frozen=True, kw_only=True):
    """A product as stored: money is a ``Decimal``, ``version`` grows on every change."""

    id: int
    name: str
    description: str | None
    price: Decimal
    stock: int
    version: int
    created_at: datetime
    updated_at: datetime


_encoder = msgspec.json.Encoder(decimal_format="string")


def encode_product(product: Product) -> bytes:
    """Return the canonical JSON document of a product (the bytes every cache tier stores)."""
    return _encoder.encode(product)


class ProductDocument(msgspec.Struct, frozen=True):
    """A product's canonical JSON document and the version it shows."""

    version: int
    body: bytes


class CachedProduct(msgspec.Struct, frozen=True):
    """A product's JSON document and version; ``body`` is None for a tombstone."""

    version: int
    body: bytes | None


class PriceStock(msgspec.Struct, frozen=True):
    """The mutable commercial facts of a product: its price and units in stock."""

    price: Decimal
    stock: int


class Sort(enum.StrEnum):
    """Orders a page can be sorted by; a leading ``-`` means descending."""

    ID = "id"
    ID_DESC = "-id"
    PRICE = "price"
    PRICE_DESC = "-price"
    NAME = "name"
    NAME_DESC = "-name"

    @property
    def column(self) -> str:
        """The product attribute this order sorts on (ties broken by id)."""
        return self.value.lstrip("-")

    @property
    def descending(self) -> bool:
        """Whether larger values come first."""
        return self.value.startswith("-")


class Cursor(msgspec.Struct, frozen=True, array_like=True):
    """A keyset position: rows strictly after (or before) ``(key, id)`` in ``sort`` order.

    A name too long for a cursor is cut: ``partial`` then says that ``key`` is only the start of
    the name, and the position is that of product ``id`` as it is now (or, if it is gone, ``key``).
    """

    sort: Sort
    key: str | int
    id: int
    before: bool
    page: int
    partial: bool = False


class SearchCriteria(msgspec.Struct, frozen=True, kw_only=True):
    """Filters of a search: a case-insensitive name substring and/or a price range."""

    name: str | None = None
    min_price: Decimal | None = None
    max_price: Decimal | None = None

    @property
    def is_empty(self) -> bool:
        """True when no criterion is set."""
        return self.name is None and self.min_price is None and self.max_price is None


class PageRequest(msgspec.Struct, frozen=True, kw_only=True):
    """Which page to read: by number (``page``) or by keyset ``cursor`` (which overrides it)."""

    page: int = 1
    limit: int = 20
    sort: Sort = Sort.ID
    cursor: Cursor | None = None


class Total(msgspec.Struct, frozen=True):
    """A row count and whether it is exact (large filtered counts are planner estimates)."""

    value: int
    exact: bool


class Page(msgspec.Struct, frozen=True, kw_only=True):
    """One page of products with what a client needs to move to its neighbours."""

    items: tuple[Product, ...]
    page: int
    limit: int
    sort: Sort
    total: Total
    next_cursor: Cursor | None
    prev_cursor: Cursor | None

    @property
    def total_pages(self) -> int:
        """Pages needed to show ``total`` products at ``limit`` per page."""
        return math.ceil(self.total.value / self.limit)
