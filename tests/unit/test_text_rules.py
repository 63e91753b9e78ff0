"""The core's text rules, and what changed where an entry point used to read text its own way."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from decimal import Decimal

import click
import pytest

from entrypoints.cli.importing import BadFile, ImportReport, read_products
from entrypoints.cli.params import PRICE, PRODUCT_ID, STOCK
from productcore.errors import InvalidInput, InvalidQuery
from productcore.model import Cursor, Product, SearchCriteria, Sort
from productcore.pagination import decode_cursor, encode_cursor, sort_key
from productcore.validation import check_criteria, parse_name, parse_price, parse_stock


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("1e1", "must be a decimal amount such as 19.99 (at most two decimals)"),
        ("1_000", "must be a decimal amount such as 19.99 (at most two decimals)"),
        (" 10.00", "must be a decimal amount such as 19.99 (at most two decimals)"),
        ("007", "must be a decimal amount such as 19.99 (at most two decimals)"),
        ("+1", "must be a decimal amount such as 19.99 (at most two decimals)"),
        ("\u0661\u0662", "must be a decimal amount such as 19.99 (at most two decimals)"),
        ("-1", "must not be negative"),
        ("NaN", "must be a finite number"),
        ("10000000000", "must not exceed 9999999999.99"),
        ("1.234", "must have at most 2 decimal places"),
    ],
)
def test_a_price_text_is_refused_as_the_http_api_refuses_it(text: str, message: str) -> None:
    """The core says of a price text what the HTTP API has always said of it."""
    with pytest.raises(ValueError, match=f"^{message.replace('(', '.').replace(')', '.')}$"):
        parse_price(text)


@pytest.mark.parametrize("text", ["0", "19.99", "7.5", "0.00", "9999999999.99"])
def test_plain_prices_are_read_exactly(text: str) -> None:
    """Plain digits with up to two decimals are the Decimal they spell."""
    assert parse_price(text) == Decimal(text)


@pytest.mark.parametrize("text", ["1_000", " 5", "+5", "5.0", "1e1", "\u0665", ""])
def test_a_stock_text_is_plain_digits(text: str) -> None:
    """Separators, spaces, signs, fractions, exponents and other numerals are not a stock level."""
    with pytest.raises(ValueError, match=r"^must be a whole number in plain digits, such as 5$"):
        parse_stock(text)


def test_a_long_stock_text_is_too_large_not_a_conversion_error() -> None:
    """Thousands of digits are refused as too large, without Python's int-size limit getting in."""
    with pytest.raises(ValueError, match=r"^must not exceed 2147483647$"):
        parse_stock("1" + "0" * 5000)
    assert parse_stock("007") == 7


def test_a_name_is_stripped_and_checked() -> None:
    """Outer whitespace is not part of a product name; a blank or NUL-bearing one is refused."""
    assert parse_name("  Lamp ") == "Lamp"
    for bad, message in (("   ", "1 to 500"), ("a\x00b", "NUL"), ("x" * 501, "1 to 500")):
        with pytest.raises(ValueError, match=message):
            parse_name(bad)


@pytest.mark.parametrize(
    ("value", "message"), [("1e1", "'1e1' must be a decimal amount"), ("1.234", "1.234 must have")]
)
def test_the_cli_refuses_bounds_the_http_api_refuses(value: str, message: str) -> None:
    """`search --min-price 1.234` (and 1e1) used to search; it is now a usage error, as over HTTP."""
    with pytest.raises(click.BadParameter, match=message):
        PRICE.convert(value, None, None)


def test_the_cli_refuses_a_stock_with_separators() -> None:
    """`--stock 1_000` used to be 1000 (Python's int()); it is now a usage error."""
    with pytest.raises(click.BadParameter, match="'1_000' must be a whole number in plain digits"):
        STOCK.convert("1_000", None, None)


def test_the_core_refuses_search_bounds_that_are_not_prices() -> None:
    """A library caller's bound obeys the price rules too (it was any finite, non-negative number)."""
    with pytest.raises(InvalidQuery) as error:
        check_criteria(SearchCriteria(min_price=Decimal("1.234"), max_price=Decimal("1e11")))
    assert [(e.field, e.message) for e in error.value.errors] == [
        ("min_price", "must have at most 2 decimal places"),
        ("max_price", "must not exceed 9999999999.99"),
    ]


@pytest.mark.parametrize(
    ("name", "message"), [("", "must not be blank"), ("x" * 200 + " ", "must have at most 200 characters")]
)
def test_a_search_name_is_measured_as_sent(name: str, message: str) -> None:
    """As over HTTP, a search name's length counts its spaces; an empty one is called blank."""
    with pytest.raises(InvalidQuery) as error:
        check_criteria(SearchCriteria(name=name))
    assert [(e.field, e.message) for e in error.value.errors] == [("name", message)]


@pytest.mark.parametrize("key", ["007", "5.000", "1e1"])
def test_a_price_cursor_carries_a_price_text(key: str) -> None:
    """A cursor's price key is read by parse_price: keys no price is written as are refused."""
    with pytest.raises(InvalidInput):
        decode_cursor(encode_cursor(Cursor(sort=Sort.PRICE, key=key, id=1, before=False, page=2)))


def test_a_price_sort_key_is_written_as_parse_price_reads_it() -> None:
    """The key of a price is written with two decimals, whatever the Decimal's own exponent."""
    now = datetime.now(UTC)
    product = Product(
        id=1,
        name="Lamp",
        description=None,
        price=Decimal("5E+1"),
        stock=1,
        version=1,
        created_at=now,
        updated_at=now,
    )
    assert sort_key(product, Sort.PRICE) == "50.00"


def import_errors(file_format: str, text: str) -> list[tuple[int, str]]:
    """The bad lines ``productcore import`` reports for a file of ``text``."""
    report = ImportReport()
    list(read_products(file_format, io.StringIO(text, newline=""), report))
    return report.errors


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("Lamp,1_000,1", "price must be a decimal amount such as 19.99 (at most two decimals)"),
        ("Lamp,1e1,1", "price must be a decimal amount such as 19.99 (at most two decimals)"),
        ("Lamp, 10.00,1", "price must be a decimal amount such as 19.99 (at most two decimals)"),
        ("Lamp,1.00,1_000", "stock must be a whole number in plain digits, such as 5"),
        (
            " ,1.005,-1",
            "name must have 1 to 500 characters; price must have at most 2 decimal places; "
            "stock must not be negative",
        ),
    ],
)
def test_csv_cells_are_read_by_the_core_rules(row: str, message: str) -> None:
    """CSV used to take 1_000, 1e1 and padded numbers (Python's Decimal() and int()); now as HTTP does."""
    assert import_errors("csv", f"name,price,stock\n{row}\n") == [(2, message)]


def test_a_csv_naming_a_column_twice_is_refused() -> None:
    """`name,price,stock,name` used to store the second name silently; the header is now refused."""
    with pytest.raises(BadFile, match="columns named more than once: name"):
        import_errors("csv", "name,price,stock,name\nLamp,1.00,1,Other\n")


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (
            '{"name": "Lamp", "price": "1e1", "stock": 1}',
            "price must be a decimal amount such as 19.99 (at most two decimals)",
        ),
        (
            '{"name": "Lamp", "price": 1, "stock": "5"}',
            "stock must be a whole number written as a JSON integer, such as 5",
        ),
        ('{"name": 5, "price": 1, "stock": 5, "colour": 1}', "colour is not a known field"),
        ('{"name": 5, "price": 1, "stock": 5}', "name must be a string"),
        ("5", "row must be a JSON object with name, price and stock"),
        ("{", "row is not valid JSON"),
    ],
)
def test_jsonl_rows_are_read_as_the_put_body_is(row: str, message: str) -> None:
    """A JSON Lines row's price and stock follow the PUT body's rules (a string price "1e1" was 10)."""
    assert import_errors("jsonl", row + "\n") == [(1, message)]


def test_a_jsonl_number_price_is_read_exactly() -> None:
    """A price sent as a JSON number (1e1 included) is the number it spells, as in a PUT body."""
    report = ImportReport()
    rows = list(read_products("jsonl", io.StringIO('{"name": "Lamp", "price": 1e1, "stock": 1}\n'), report))
    assert not report.errors and rows[0] is not None and rows[0].price == Decimal(10)


@pytest.mark.parametrize("text", [" 7", "1" * 5000, "+7", "7.0"])
def test_the_cli_reads_a_product_id_as_the_http_api_does(text: str) -> None:
    """Ids are plain digits: padding used to be stripped, and 5000 digits crashed int() with a traceback."""
    with pytest.raises(click.BadParameter, match="is not a product id"):
        PRODUCT_ID.convert(text, None, None)
    assert PRODUCT_ID.convert("007", None, None) == 7
