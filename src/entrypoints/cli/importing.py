"""Read products from CSV or JSON Lines, checking every row and naming bad ones by line number."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import IO

import msgspec

from adapters.postgres.bulk import ProductRow
from productcore.validation import price_problem, stock_problem

MAX_NAME = 500


class _JsonRow(msgspec.Struct, forbid_unknown_fields=True):
    name: str
    price: Decimal
    stock: int
    description: str | None = None


_decoder = msgspec.json.Decoder(_JsonRow)


@dataclass
class ImportReport:
    """What a pass over a file found: the bad lines, with a reason each."""

    errors: list[tuple[int, str]] = field(default_factory=list)
    rows: int = 0


def _checked(name: str, description: str | None, price: Decimal, stock: int) -> ProductRow | str:
    name = name.strip()
    if not name or len(name) > MAX_NAME:
        return f"name must have 1 to {MAX_NAME} characters"
    if "\x00" in name or (description is not None and "\x00" in description):
        return "text must not contain NUL characters"
    if (problem := price_problem(price)) is not None:
        return f"price {problem}"
    if (problem := stock_problem(stock)) is not None:
        return f"stock {problem}"
    return ProductRow(name=name, description=description or None, price=price, stock=stock)


def _csv_rows(handle: IO[str]) -> Iterator[tuple[int, ProductRow | str]]:
    reader = csv.DictReader(handle)
    missing = {"name", "price", "stock"} - set(reader.fieldnames or ())
    if missing:
        yield 1, f"header must name the columns name, price, stock (missing: {', '.join(sorted(missing))})"
        return
    unknown = set(reader.fieldnames or ()) - {"name", "price", "stock", "description"}
    if unknown:
        yield 1, f"unknown columns: {', '.join(sorted(unknown))}"
        return
    for record in reader:
        line = reader.line_num
        if None in record or any(v is None for v in record.values()):
            yield line, "wrong number of fields"
            continue
        try:
            price = Decimal(record["price"].strip())
        except InvalidOperation:
            yield line, f"price {record['price']!r} is not a decimal number"
            continue
        try:
            stock = int(record["stock"].strip())
        except ValueError:
            yield line, f"stock {record['stock']!r} is not an integer"
            continue
        yield line, _checked(record["name"], record.get("description"), price, stock)


def _jsonl_rows(handle: IO[str]) -> Iterator[tuple[int, ProductRow | str]]:
    for line, text in enumerate(handle, start=1):
        if not text.strip():
            continue
        try:
            row = _decoder.decode(text)
        except msgspec.DecodeError as error:
            yield line, str(error)
            continue
        yield line, _checked(row.name, row.description, row.price, row.stock)


def read_products(path: Path, handle: IO[str], report: ImportReport) -> Iterator[ProductRow | None]:
    """Yield each row of the file, or None for a bad one (recorded in ``report``)."""
    parse = _jsonl_rows if path.suffix.lower() in {".jsonl", ".ndjson", ".json"} else _csv_rows
    for line, outcome in parse(handle):
        report.rows += 1
        if isinstance(outcome, str):
            report.errors.append((line, outcome))
            yield None
        else:
            yield outcome
