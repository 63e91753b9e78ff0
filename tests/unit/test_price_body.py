"""The PUT body: a price as a plain decimal string or a JSON number, a stock as a JSON integer only."""

from __future__ import annotations

import re
from decimal import Decimal

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from entrypoints.http.body import read_price_stock
from entrypoints.http.schemas import PRICE_PATTERN
from entrypoints.json_fields import STOCK_TYPE_PROBLEM
from productcore.errors import InvalidInput
from productcore.model import PriceStock


def read(price_json: bytes, stock_json: bytes = b"1") -> PriceStock:
    """Read a body with these member texts the way the app does."""
    return read_price_stock(b'{"price": ' + price_json + b', "stock": ' + stock_json + b"}").change()


def refusal(price_json: bytes, stock_json: bytes = b"1") -> dict[str, str]:
    """The fields a body is refused for, with their messages."""
    with pytest.raises(InvalidInput) as error:
        read(price_json, stock_json)
    return {e.field: e.message for e in error.value.errors}


def body(price: object) -> PriceStock:
    """Encode ``price`` as JSON and read a body with it."""
    return read(msgspec.json.encode(price))


@pytest.mark.parametrize(
    ("price", "expected"),
    [
        ("19.99", "19.99"),
        ("0", "0"),
        ("7.5", "7.5"),
        ("9999999999.99", "9999999999.99"),
        (19.99, "19.99"),
        (5, "5"),
    ],
)
def test_prices_it_accepts(price: object, expected: str) -> None:
    """Plain decimal strings and JSON numbers become the Decimal they spell."""
    assert body(price).price == Decimal(expected)


@pytest.mark.parametrize(
    "price",
    ["1e3", " 19.99", "19.99 ", "+1", "-1", "1_000", "NaN", "Infinity", "١٢", "007", ".5", "5.", "1.234", ""],
)
def test_strings_it_refuses(price: str) -> None:
    """Exponents, signs, spaces, separators, other numerals and extra decimals are refused as the price."""
    assert list(refusal(msgspec.json.encode(price))) == ["price"]


@pytest.mark.parametrize("price", [True, None, [1], {"amount": 1}])
def test_other_json_types_are_refused_in_words(price: object) -> None:
    """Booleans, null, arrays and objects are not prices, and the message names no Python type."""
    message = refusal(msgspec.json.encode(price))["price"]
    assert message.startswith("must be a decimal string") and "`" not in message


@pytest.mark.parametrize("amount", [b"-1", b"10000000000", b"12.345"])
def test_a_string_price_gets_the_message_the_same_number_gets(amount: bytes) -> None:
    """Negative, too large or over-precise amounts are explained alike, sent as a string or a number."""
    assert refusal(b'"' + amount + b'"') == refusal(amount)
    assert refusal(amount)["price"].startswith("must not") or "decimal places" in refusal(amount)["price"]


def test_a_nan_string_is_called_not_finite() -> None:
    """The string NaN is explained as what it is, not with the general message."""
    assert refusal(b'"NaN"') == {"price": "must be a finite number"}


@pytest.mark.parametrize("stock", [b'"1"', b'"1e1"', b'"-0"', b"1.0", b"1e1", b"true", b"null", b"[1]"])
def test_stock_must_be_a_json_integer(stock: bytes) -> None:
    """Strings, fractions, exponents and booleans are refused as the stock, however integral."""
    assert refusal(b'"1.00"', stock) == {"stock": STOCK_TYPE_PROBLEM}


def test_bad_price_and_stock_are_named_together() -> None:
    """Every bad member is named in one answer, range errors included."""
    assert refusal(b"1e400", b"99999999999999999999999") == {
        "price": "must not exceed 9999999999.99",
        "stock": "must not exceed 2147483647",
    }


@pytest.mark.parametrize(
    ("raw", "field", "message"),
    [
        (b"", "body", "is required: send a JSON object with price and stock"),
        (b" {", "body", "is not valid JSON"),
        (b"[]", "body", "must be a JSON object with price and stock"),
        (b'{"price": 1}', "stock", "is required"),
        (b'{"price": 1, "stock": 1, "x": 1}', "x", "is not a known field"),
    ],
)
def test_bodies_that_are_not_a_price_and_stock_name_what_is_wrong(
    raw: bytes, field: str, message: str
) -> None:
    """Malformed JSON, another shape, a missing or an unknown member: each is named, in our words."""
    with pytest.raises(InvalidInput) as error:
        read_price_stock(raw)
    assert [(e.field, e.message) for e in error.value.errors] == [(field, message)]


@given(st.from_regex(PRICE_PATTERN, fullmatch=True))
def test_every_string_the_schema_allows_is_accepted(text: str) -> None:
    """The documented pattern and the parser agree: whatever the pattern allows parses exactly."""
    assert body(text).price == Decimal(text)


@given(st.decimals(min_value=0, max_value=Decimal("9999999999.99"), places=2))
def test_every_valid_price_survives_being_sent_as_a_json_number(price: Decimal) -> None:
    """A valid price sent as a JSON number comes back exactly."""
    assert read(str(price).encode()).price == price
    assert re.fullmatch(PRICE_PATTERN, format(price, "f").rstrip("0").rstrip(".") or "0")


@pytest.mark.parametrize("text", [b"1.0000000000000001", b"0.30000000000000004", b"19.990", b"1e2", b"-0"])
def test_json_numbers_are_read_from_their_text_not_through_a_float(text: bytes) -> None:
    """A number keeps every digit it was sent with, so excess decimals are seen (and refused)."""
    value = Decimal(text.decode())
    if value == value.quantize(Decimal("0.01")):
        assert read(text).price == value
    else:
        assert refusal(text) == {"price": "must have at most 2 decimal places"}
