"""One text, one answer: HTTP, the CLI, CSV and JSON Lines import and cursors accept the same prices,
stock levels and names, because each reads them with the core's parser."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import click
import msgspec
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from litestar.testing import AsyncTestClient

from entrypoints.cli.importing import ImportReport, read_products
from entrypoints.cli.params import PRICE, STOCK
from entrypoints.http.body import read_price_stock
from productcore.errors import InvalidInput
from productcore.model import Cursor, SearchCriteria, Sort
from productcore.pagination import MAX_KEY_BYTES, decode_cursor, encode_cursor
from productcore.validation import (
    PRICE_TEXT,
    check_criteria,
    name_problem,
    parse_name,
    parse_price,
    parse_stock,
    price_problem,
)
from tests.unit.products_app import products_app

_characters = st.characters(exclude_categories=("Cs",))
price_texts = st.one_of(
    st.from_regex(PRICE_TEXT, fullmatch=True),
    st.decimals().map(str),
    st.decimals(places=3, min_value=-1, max_value=10**11).map(lambda d: format(d, "f")),
    st.text(alphabet="0123456789.,-+eE_ nNaIify\u0661\u00a0", max_size=14),
    st.text(_characters, max_size=12),
)
stock_texts = st.one_of(
    st.integers(-(10**12), 10**12).map(str),
    st.text(alphabet="0123456789-+_ .e\u0665", max_size=14),
    st.text(_characters, max_size=8),
)
name_texts = st.one_of(
    st.text(_characters, max_size=40),
    st.text(alphabet="ab \t\x00", min_size=495, max_size=505),
)


def accepts(parse: object, text: str) -> bool:
    """Whether ``parse`` (a core parser or a click type) takes ``text``."""
    try:
        if isinstance(parse, click.ParamType):
            parse.convert(text, None, None)
        else:
            parse(text)  # type: ignore[operator]
    except (ValueError, click.BadParameter):
        return False
    return True


def csv_accepts(name: str = "Lamp", price: str = "1.00", stock: str = "1") -> bool:
    """Whether ``productcore import`` takes a CSV file of this one row."""
    handle = io.StringIO(newline="")
    csv.writer(handle).writerows([["name", "price", "stock"], [name, price, stock]])
    handle.seek(0)
    report = ImportReport()
    rows = list(read_products("csv", handle, report))
    return rows != [None] and not report.errors


def jsonl_accepts(**row: object) -> bool:
    """Whether ``productcore import`` takes a JSON Lines file of this one row (name, price, stock)."""
    line = msgspec.json.encode({"name": "Lamp", "price": "1.00", "stock": 1, **row}).decode()
    report = ImportReport()
    list(read_products("jsonl", io.StringIO(line + "\n"), report))
    return not report.errors


def body_accepts(price: object = "1.00", stock: object = 1) -> bool:
    """Whether the PUT body reader takes this price and stock."""
    try:
        read_price_stock(msgspec.json.encode({"price": price, "stock": stock}))
    except InvalidInput:
        return False
    return True


def cursor_accepts(sort: Sort, key: str) -> bool:
    """Whether a cursor with this sort key is one the service could have issued."""
    try:
        decode_cursor(encode_cursor(Cursor(sort=sort, key=key, id=1, before=False, page=2)))
    except InvalidInput:
        return False
    return True


@settings(max_examples=400)
@given(price_texts)
def test_every_entry_point_reads_a_price_text_alike(text: str) -> None:
    """CLI prices and bounds, CSV cells, JSON strings in a body or an import row, and cursor keys agree."""
    expected = accepts(parse_price, text)
    assert accepts(PRICE, text) == expected
    assert csv_accepts(price=text) == expected
    assert jsonl_accepts(price=text) == expected
    assert body_accepts(price=text) == expected
    assert cursor_accepts(Sort.PRICE, text) == expected


@settings(max_examples=400)
@given(
    st.one_of(
        st.decimals(allow_nan=False, allow_infinity=False).map(str),
        st.integers(-(10**30), 10**30).map(str),
        st.sampled_from(["1e400", "-1e400", "1e-400", "1E+1", "-0", "0.0", "19.990", "1.0000000000000001"]),
    )
)
def test_a_json_number_price_is_read_alike_by_the_body_and_the_import(number: str) -> None:
    """A price sent as a JSON number gets one answer from the PUT body and a JSON Lines row."""
    try:
        read_price_stock(f'{{"price": {number}, "stock": 1}}'.encode())
        expected = True
    except InvalidInput:
        expected = False
    assert expected == (price_problem(Decimal(number)) is None)
    assert jsonl_accepts(price=msgspec.Raw(number.encode())) == expected


@settings(max_examples=300)
@given(stock_texts)
def test_every_entry_point_reads_a_stock_text_alike(text: str) -> None:
    """The CLI's --stock and a CSV cell take the same stock texts as the core."""
    expected = accepts(parse_stock, text)
    assert accepts(STOCK, text) == expected
    assert csv_accepts(stock=text) == expected


@settings(max_examples=300)
@given(st.one_of(st.integers(-(10**25), 10**25), st.floats(), st.text(max_size=4), st.booleans(), st.none()))
def test_a_json_stock_is_read_alike_by_the_body_and_the_import(stock: object) -> None:
    """A stock member gets one answer from the PUT body and a JSON Lines row."""
    assert body_accepts(stock=stock) == jsonl_accepts(stock=stock)


@settings(max_examples=300)
@given(name_texts)
def test_every_entry_point_reads_a_product_name_alike(text: str) -> None:
    """CSV and JSON Lines imports take the names the core takes; a cursor takes the names products have."""
    expected = accepts(parse_name, text)
    assert csv_accepts(name=text) == expected
    assert jsonl_accepts(name=text) == expected
    assume(len(msgspec.json.encode(text)) <= MAX_KEY_BYTES)
    assert cursor_accepts(Sort.NAME, text) == (name_problem(text) is None)


def criteria_accept(**criteria: object) -> bool:
    """Whether the core (and so ``productcore search``, which hands it its options) takes these criteria."""
    try:
        check_criteria(SearchCriteria(**criteria))  # type: ignore[arg-type]
    except InvalidInput:
        return False
    return True


@settings(max_examples=40, deadline=None)
@given(price_texts)
async def test_http_answers_a_price_text_as_the_cli_does(text: str) -> None:
    """A search bound and a PUT price are taken over HTTP exactly when the CLI takes them."""
    expected = accepts(PRICE, text)
    async with AsyncTestClient(products_app()) as client:
        search = await client.get("/products/search", params={"name": "a", "min_price": text})
        put = await client.put("/products/1", json={"price": text, "stock": 1})
    assert (search.status_code == 200) == expected, search.text
    assert (put.status_code == 200) == expected, put.text
    assert search.status_code in (200, 400) and put.status_code in (200, 400)
    if expected:
        assert criteria_accept(min_price=parse_price(text))


@settings(max_examples=40, deadline=None)
@given(name_texts)
async def test_http_answers_a_search_name_as_the_cli_does(text: str) -> None:
    """A search name is taken over HTTP exactly when the core's criteria (the CLI's --name) take it."""
    async with AsyncTestClient(products_app()) as client:
        search = await client.get("/products/search", params={"name": text})
    assert search.status_code in (200, 400), search.text
    assert (search.status_code == 200) == criteria_accept(name=text)
