"""Option types that check values by the core's rules before any server starts."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

import click

from productcore.validation import CENT, MAX_ID, price_problem, stock_problem


class PriceType(click.ParamType):  # type: ignore[type-arg]  # generic only from click 8.2
    """A price such as 19.99: a decimal number, not negative, at most two decimal places.

    As a search bound (``bound=True``) any finite, non-negative number will do, as in the HTTP API.
    """

    name = "price"

    def __init__(self, *, bound: bool = False) -> None:
        self.bound = bound

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Decimal:
        """Parse and check a price; a bad one is a usage error."""
        if isinstance(value, Decimal):
            return value
        try:
            price = Decimal(str(value).strip())
        except InvalidOperation:
            self.fail(f"{value!r} is not a decimal number such as 19.99", param, ctx)
        if self.bound:
            problem = None if price.is_finite() else "must be a finite number"
            if problem is None and price < 0:
                problem = "must not be negative"
        else:
            problem = price_problem(price)
        if problem is not None:
            self.fail(f"{value} {problem}", param, ctx)
        return price if self.bound else price.quantize(CENT)


class StockType(click.ParamType):  # type: ignore[type-arg]  # generic only from click 8.2
    """A stock level: a whole number, not negative."""

    name = "stock"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        """Parse and check a stock level; a bad one is a usage error."""
        if isinstance(value, int) and not isinstance(value, bool):
            stock = value
        else:
            try:
                stock = int(str(value).strip())
            except ValueError:
                self.fail(f"{value!r} is not a whole number", param, ctx)
        if (problem := stock_problem(stock)) is not None:
            self.fail(f"{value} {problem}", param, ctx)
        return stock


PRICE = PriceType()
PRICE_BOUND = PriceType(bound=True)
STOCK = StockType()


class ProductIdType(click.ParamType):  # type: ignore[type-arg]  # generic only from click 8.2
    """A product id: a whole number from 1 to 2^63-1, in plain digits."""

    name = "id"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        """Parse and check an id; a bad one is a usage error that says what an id is."""
        if isinstance(value, int) and not isinstance(value, bool):
            number = value
        elif str(value).strip().isascii() and str(value).strip().isdigit():
            number = int(str(value).strip())
        else:
            self.fail(f"{value!r} is not a product id (a whole number from 1 to {MAX_ID})", param, ctx)
        if not 1 <= number <= MAX_ID:
            self.fail(f"{value} is not a product id (a whole number from 1 to {MAX_ID})", param, ctx)
        return number


PRODUCT_ID = ProductIdType()
