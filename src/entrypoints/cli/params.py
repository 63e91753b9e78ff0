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


class WholeNumberType(click.ParamType):  # type: ignore[type-arg]  # generic only from click 8.2
    """A whole number in plain digits within ``low..high``, as the HTTP API reads ids, ``page``,
    ``limit`` and versions (click's ``int`` would take ``1_0`` and `` 5``).

    Args:
        low: The least number allowed.
        high: The greatest number allowed.
        what: What the number is, for the message (``a product id``); None: just the range.
        name: How usage texts name the value.
    """

    def __init__(self, low: int, high: int, what: str | None = None, name: str = "integer") -> None:
        self._low, self._high = low, high
        self.name = name
        bounds = f"a whole number from {low} to {high}"
        self._problem = f"is not {what} ({bounds})" if what else f"is not {bounds}"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        """Parse and check the number; a bad one is a usage error naming the range."""
        if isinstance(value, int) and not isinstance(value, bool):
            number = value
        else:
            try:
                number = whole_number(str(value), self._high)
            except ValueError:
                self.fail(f"{value!r} {self._problem}", param, ctx)
        if not self._low <= number <= self._high:
            self.fail(f"{value} {self._problem}", param, ctx)
        return number


PRODUCT_ID = WholeNumberType(1, MAX_ID, "a product id", name="id")
