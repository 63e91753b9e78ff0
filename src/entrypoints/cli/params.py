"""Option types that check values by the core's rules before any server starts."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any, TypeVar

import click

from productcore.validation import (
    AMOUNT_PROBLEM,
    MAX_ID,
    WHOLE_NUMBER_PROBLEM,
    parse_price,
    parse_stock,
    whole_number,
)

T = TypeVar("T")


def _parsed(
    parse: Callable[[str], T],
    value: Any,
    param: click.Parameter | None,
    ctx: click.Context | None,
) -> T:
    """``parse(value)`` by the core's rule; its refusal is a usage error quoting the value."""
    try:
        return parse(str(value))
    except ValueError as error:
        problem = str(error)
        shown = repr(value) if problem in (AMOUNT_PROBLEM, WHOLE_NUMBER_PROBLEM) else value
        raise click.BadParameter(f"{shown} {problem}", ctx, param) from None


class PriceType(click.ParamType):  # type: ignore[type-arg]  # generic only from click 8.2
    """A price such as 19.99, read by the core's ``parse_price`` (as the HTTP API reads one).

    Search bounds use it too: the HTTP API refuses ``1.234`` or ``1e1`` as a bound, and so does the CLI.
    """

    name = "price"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Decimal:
        """Parse and check a price; a bad one is a usage error."""
        if isinstance(value, Decimal):
            return value
        return _parsed(parse_price, value, param, ctx)


class StockType(click.ParamType):  # type: ignore[type-arg]  # generic only from click 8.2
    """A stock level: a whole number in plain digits, not negative, read by the core's ``parse_stock``."""

    name = "stock"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        """Parse and check a stock level; a bad one is a usage error."""
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        return _parsed(parse_stock, value, param, ctx)


PRICE = PriceType()
STOCK = StockType()


class ProductIdType(click.ParamType):  # type: ignore[type-arg]  # generic only from click 8.2
    """A product id: a whole number from 1 to 2^63-1, in plain digits."""

    name = "id"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        """Parse and check an id as the HTTP API does; a bad one is a usage error saying what an id is."""
        if isinstance(value, int) and not isinstance(value, bool):
            number = value
        else:
            try:
                number = whole_number(str(value), MAX_ID)
            except ValueError:
                self.fail(f"{value!r} is not a product id (a whole number from 1 to {MAX_ID})", param, ctx)
        if not 1 <= number <= MAX_ID:
            self.fail(f"{value} is not a product id (a whole number from 1 to {MAX_ID})", param, ctx)
        return number


PRODUCT_ID = ProductIdType()


class WholeNumberType(click.ParamType):  # type: ignore[type-arg]  # generic only from click 8.2
    """A whole number in plain digits within ``low..high``, as the HTTP API reads ``page``, ``limit``
    and versions (click's ``int`` would take ``1_0`` and `` 5``)."""

    name = "integer"

    def __init__(self, low: int, high: int) -> None:
        self._low, self._high = low, high

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        """Parse and check the number; a bad one is a usage error naming the range."""
        if isinstance(value, int) and not isinstance(value, bool):
            number = value
        else:
            try:
                number = whole_number(str(value), self._high)
            except ValueError:
                self.fail(f"{value!r} is not a whole number from {self._low} to {self._high}", param, ctx)
        if not self._low <= number <= self._high:
            self.fail(f"{value} is not a whole number from {self._low} to {self._high}", param, ctx)
        return number
