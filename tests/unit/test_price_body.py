"""The PUT body's price: a plain decimal string or a JSON number, nothing looser."""

from __future__ import annotations

import re
from decimal import Decimal

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from entrypoints.http.schemas import PRICE_PATTERN, PriceStockIn
from productcore.errors import InvalidInput
from productcore.model import PriceStock


class Sent:
    """A PUT body as the app sees it: the raw bytes, and the struct Litestar converts them to."""

    def __init__(self, price_json: bytes) -> None:
        self.raw = b'{"price": ' + price_json + b', "stock": 1}'
        self.data = msgspec.convert(msgspec.json.decode(self.raw), PriceStockIn, strict=False)

    def change(self) -> PriceStock:
        return self.data.change(self.raw)


def body(price: object) -> Sent:
    """Encode ``price`` as JSON and decode the body the way the app does."""
    return Sent(msgspec.json.encode(price))


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
    assert body(price).change().price == Decimal(expected)


@pytest.mark.parametrize(
    "price",
    ["1e3", " 19.99", "19.99 ", "+1", "-1", "1_000", "NaN", "Infinity", "١٢", "007", ".5", "5.", "1.234", ""],
)
def test_strings_it_refuses(price: str) -> None:
    """Exponents, signs, spaces, separators, other numerals and extra decimals are refused as the price."""
    with pytest.raises(InvalidInput) as error:
        body(price).change()
    assert [e.field for e in error.value.errors] == ["price"]


@pytest.mark.parametrize("price", [True, None, [1], {"amount": 1}])
def test_other_json_types_are_refused_on_decode(price: object) -> None:
    """Booleans, null, arrays and objects are not prices."""
    with pytest.raises(msgspec.ValidationError):
        body(price)


@given(st.from_regex(PRICE_PATTERN, fullmatch=True))
def test_every_string_the_schema_allows_is_accepted(text: str) -> None:
    """The documented pattern and the parser agree: whatever the pattern allows parses exactly."""
    assert body(text).change().price == Decimal(text)


@given(st.decimals(min_value=0, max_value=Decimal("9999999999.99"), places=2))
def test_every_valid_price_survives_being_sent_as_a_json_number(price: Decimal) -> None:
    """A valid price sent as a JSON number (decoded as a float) comes back exactly."""
    assert Sent(str(price).encode()).change().price == price
    assert re.fullmatch(PRICE_PATTERN, format(price, "f").rstrip("0").rstrip(".") or "0")


@pytest.mark.parametrize(
    "text", [b"19.999999999999999999", b"1.0000000000000001", b"0.30000000000000004", b"1e2", b"19.990"]
)
def test_json_numbers_are_read_from_their_text_not_through_a_float(text: bytes) -> None:
    """A number keeps every digit it was sent with, so excess decimals are seen (and refused later)."""
    assert Sent(text).change().price == Decimal(text.decode())
