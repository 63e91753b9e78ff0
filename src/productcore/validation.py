"""Rules every input obeys, whichever entry point it came through."""

from __future__ import annotations

from decimal import Decimal

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


def _bound_problem(value: Decimal) -> str | None:
    if not value.is_finite():
        return "must be a finite number"
    if value < 0:
        return "must not be negative"
    return None


def check_criteria(criteria: SearchCriteria) -> SearchCriteria:
    """Validate search criteria and return them with the name stripped of outer whitespace."""
    errors = []
    name = criteria.name.strip() if criteria.name is not None else None
    if name is not None and not name:
        errors.append(FieldError("name", "must not be blank"))
    elif name is not None and len(name) > MAX_NAME_QUERY:
        errors.append(FieldError("name", f"must be at most {MAX_NAME_QUERY} characters"))
    if name is not None and "\x00" in name:
        errors.append(FieldError("name", "must not contain NUL characters"))
    for field, bound in (("min_price", criteria.min_price), ("max_price", criteria.max_price)):
        if bound is not None and (problem := _bound_problem(bound)) is not None:
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
    return SearchCriteria(name=name, min_price=criteria.min_price, max_price=criteria.max_price)
