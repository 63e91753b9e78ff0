"""Rules every input obeys, whichever entry point it came through: values, and the text that spells them.

Entry points read prices, stock levels and names from text (query strings, command lines, CSV
cells, JSON strings) with the ``parse_*`` functions here, so one text gets one answer everywhere.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal
from typing import TypeVar

from productcore.errors import FieldError, InvalidInput, InvalidQuery
from productcore.model import PageRequest, PriceStock, SearchCriteria

MAX_LIMIT = 100
MAX_PAGE = 2**31 - 1
MAX_PRICE = Decimal("9999999999.99")
MAX_STOCK = 2**31 - 1
MAX_ID = 2**63 - 1
MAX_NAME_QUERY = 200
MAX_NAME = 500
CENT = Decimal("0.01")

PRICE_TEXT = r"(0|[1-9][0-9]{0,9})(\.[0-9]{1,2})?"
"""A price as text: plain ASCII digits without a sign or leading zeros, at most two decimals."""
_PRICE_TEXT = re.compile(PRICE_TEXT)
_NUMBER_TEXT = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+|nan|inf|infinity)", re.IGNORECASE)
_INTEGER_TEXT = re.compile(r"-?[0-9]+")
AMOUNT_PROBLEM = "must be a decimal amount such as 19.99 (at most two decimals)"
WHOLE_NUMBER_PROBLEM = "must be a whole number in plain digits, such as 5"

T = TypeVar("T")
R = TypeVar("R")


def parsed(errors: list[FieldError], field: str, parse: Callable[[T], R], value: T) -> R | None:
    """``parse(value)``, or None with its ``ValueError`` recorded in ``errors`` against ``field``."""
    try:
        return parse(value)
    except ValueError as error:
        errors.append(FieldError(field, str(error)))
        return None


def price_problem(price: Decimal) -> str | None:
    """Say what is wrong with a price, or None when it is a valid amount."""
    if not price.is_finite():
        return "must be a finite number"
    if price < 0:
        return "must not be negative"
    if price > MAX_PRICE:
        return f"must not exceed {MAX_PRICE}"
    if price != price.quantize(CENT):
        return "must have at most 2 decimal places"
    return None


def parse_price(text: str) -> Decimal:
    """The price ``text`` spells, exactly: plain digits with at most two decimals, such as ``19.99``.

    Text that reads as a number but not a valid price (negative, NaN, too large, three decimals)
    is refused with the message the same value gets as a JSON number; anything else (an exponent,
    a sign, spaces, ``_``, other numerals, a leading zero) with the general one.

    Raises:
        ValueError: what is wrong with the text, worded for whoever sent it.
    """
    if _PRICE_TEXT.fullmatch(text):
        return Decimal(text)
    problem = price_problem(Decimal(text)) if _NUMBER_TEXT.fullmatch(text) else None
    raise ValueError(problem or AMOUNT_PROBLEM)


def whole_number(text: str, ceiling: int) -> int:
    """The integer ``text`` spells in plain ASCII digits (a leading ``-`` allowed).

    Text with more digits than ``ceiling`` has comes back as ``ceiling + 1`` (or its negative), so
    that a range check refuses it without converting thousands of digits.

    Raises:
        ValueError: the text is not plain digits.
    """
    if not _INTEGER_TEXT.fullmatch(text):
        raise ValueError(WHOLE_NUMBER_PROBLEM)
    digits = text.lstrip("-").lstrip("0") or "0"
    value = int(digits) if len(digits) <= len(str(ceiling)) else ceiling + 1
    return -value if text.startswith("-") else value


def parse_stock(text: str) -> int:
    """The stock level ``text`` spells in plain digits, such as ``5``.

    Raises:
        ValueError: what is wrong with the text (not plain digits, negative, too large).
    """
    stock = whole_number(text, MAX_STOCK)
    if (problem := stock_problem(stock)) is not None:
        raise ValueError(problem)
    return stock


def parse_name(text: str) -> str:
    """A product name from ``text``: without outer whitespace, 1 to 500 characters, no NUL.

    Raises:
        ValueError: what is wrong with the name.
    """
    name = text.strip()
    if (problem := name_problem(name)) is not None:
        raise ValueError(problem)
    return name


def name_problem(name: str) -> str | None:
    """Say what is wrong with a product name, or None when a product may have it."""
    if not 1 <= len(name) <= MAX_NAME:
        return f"must have 1 to {MAX_NAME} characters"
    if "\x00" in name:
        return "must not contain NUL characters"
    return None


def stock_problem(stock: int) -> str | None:
    """Say what is wrong with a stock level, or None when it is valid."""
    if isinstance(stock, bool) or not isinstance(stock, int):
        return "must be an integer"
    if stock < 0:
        return "must not be negative"
    if stock > MAX_STOCK:
        return f"must not exceed {MAX_STOCK}"
    return None


def check_product_id(product_id: int) -> None:
    """Reject ids that no product can have."""
    if isinstance(product_id, bool) or not isinstance(product_id, int) or not 1 <= product_id <= MAX_ID:
        raise InvalidInput([FieldError("product_id", f"must be an integer from 1 to {MAX_ID}")])


def check_change(change: PriceStock) -> PriceStock:
    """Validate a price-and-stock change and return it with the price at two decimal places."""
    errors = []
    if (problem := price_problem(change.price)) is not None:
        errors.append(FieldError("price", problem))
    if (problem := stock_problem(change.stock)) is not None:
        errors.append(FieldError("stock", problem))
    if errors:
        raise InvalidInput(errors)
    return PriceStock(price=change.price.quantize(CENT), stock=change.stock)


def check_page_request(request: PageRequest) -> None:
    """Reject page numbers below one, limits outside 1..100 and cursors for another sort."""
    errors = []
    if not 1 <= request.page <= MAX_PAGE:
        errors.append(FieldError("page", f"must be an integer from 1 to {MAX_PAGE}"))
    if not 1 <= request.limit <= MAX_LIMIT:
        errors.append(FieldError("limit", f"must be an integer from 1 to {MAX_LIMIT}"))
    if request.cursor is not None and request.cursor.sort != request.sort:
        errors.append(
            FieldError("cursor", f"was made for sort={request.cursor.sort}, not sort={request.sort}")
        )
    if errors:
        raise InvalidQuery(errors)


def _name_query_problem(name: str) -> str | None:
    if len(name) > MAX_NAME_QUERY:
        return f"must have at most {MAX_NAME_QUERY} characters"
    if not name.strip():
        return "must not be blank"
    if "\x00" in name:
        return "must not contain NUL characters"
    return None


def check_criteria(criteria: SearchCriteria) -> SearchCriteria:
    """Validate search criteria and return them with the name stripped of outer whitespace.

    A price bound obeys the rules of a price (the HTTP API has always refused ``1.234`` as a bound).
    """
    errors = []
    if criteria.name is not None and (problem := _name_query_problem(criteria.name)) is not None:
        errors.append(FieldError("name", problem))
    for field, bound in (("min_price", criteria.min_price), ("max_price", criteria.max_price)):
        if bound is not None and (problem := price_problem(bound)) is not None:
            errors.append(FieldError(field, problem))
    if criteria.is_empty:
        errors.append(FieldError("name", "give at least one of name, min_price or max_price"))
    if (
        not errors
        and criteria.min_price is not None
        and criteria.max_price is not None
        and criteria.min_price > criteria.max_price
    ):
        errors.append(FieldError("min_price", "must not be greater than max_price"))
    if errors:
        raise InvalidQuery(errors)
    name = criteria.name.strip() if criteria.name is not None else None
    return SearchCriteria(name=name, min_price=criteria.min_price, max_price=criteria.max_price)
