"""Read products from CSV or JSON Lines, checking every row and naming bad ones by line number."""

from __future__ import annotations

import csv
import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import IO

import msgspec

from adapters.postgres.bulk import ProductRow
from entrypoints.http.messages import field_problem
from productcore.validation import price_problem, stock_problem

MAX_NAME = 500
FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl"}


class BadFile(Exception):
    """The file as a whole cannot be loaded (an unusable header, a JSON array): nothing is."""

    def __init__(self, line: int, reason: str) -> None:
        super().__init__(reason)
        self.line = line
        self.reason = reason


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


def format_of(path: Path) -> str:
    """The format a file's extension names: ``csv`` or ``jsonl``.

    Raises:
        ValueError: the extension is none of .csv, .jsonl, .ndjson or .json.
    """
    try:
        return FORMATS[path.suffix.lower()]
    except KeyError:
        raise ValueError(
            f"cannot tell the format of {path.name} from its extension: name it .csv or .jsonl, "
            "or pass --format csv or --format jsonl"
        ) from None


def _csv_rows(handle: IO[str]) -> Iterator[tuple[int, ProductRow | str]]:
    reader = csv.DictReader(handle)
    if not reader.fieldnames:
        raise BadFile(1, "expected a header naming the columns name, price, stock[, description]")
    missing = {"name", "price", "stock"} - set(reader.fieldnames)
    if missing:
        raise BadFile(
            1, f"the header must name the columns name, price, stock (missing: {', '.join(sorted(missing))})"
        )
    unknown = set(reader.fieldnames) - {"name", "price", "stock", "description"}
    if unknown:
        raise BadFile(
            1, f"unknown columns: {', '.join(sorted(unknown))} (allowed: name, price, stock, description)"
        )
    return _csv_records(reader)


def _csv_records(reader: csv.DictReader[str]) -> Iterator[tuple[int, ProductRow | str]]:
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
    lines = enumerate(handle, start=1)
    for line, text in lines:
        if text.strip():
            if text.lstrip().startswith("["):
                raise BadFile(
                    line,
                    "this is a JSON array; expected JSON Lines, one object per line "
                    '(such as {"name": "Kettle", "price": "19.99", "stock": 5})',
                )
            return _jsonl_records(itertools.chain([(line, text)], lines))
    return iter(())


def _jsonl_records(lines: Iterator[tuple[int, str]]) -> Iterator[tuple[int, ProductRow | str]]:
    for line, text in lines:
        if not text.strip():
            continue
        try:
            row = _decoder.decode(text)
        except msgspec.ValidationError as error:
            yield line, _plain(str(error))
            continue
        except msgspec.DecodeError as error:
            yield line, f"not a JSON object ({error})"
            continue
        yield line, _checked(row.name, row.description, row.price, row.stock)


def _plain(message: str) -> str:
    """A msgspec validation message as the CSV reader words its own: the field, then what is wrong."""
    text, _, where = message.partition(" - at `$.")
    problem = field_problem(None, where.rstrip("`") or "row", text)
    return f"{problem['field']} {problem['message']}"


def read_products(file_format: str, handle: IO[str], report: ImportReport) -> Iterator[ProductRow | None]:
    """Check the start of the file, then return its rows, None for each bad one (recorded in ``report``).

    Raises:
        BadFile: the header, or the first line, shows that the file cannot be loaded at all.
    """
    rows = _jsonl_rows(handle) if file_format == "jsonl" else _csv_rows(handle)
    return _recorded(rows, report)


def _recorded(
    rows: Iterator[tuple[int, ProductRow | str]], report: ImportReport
) -> Iterator[ProductRow | None]:
    for line, outcome in rows:
        report.rows += 1
        if isinstance(outcome, str):
            report.errors.append((line, outcome))
            yield None
        else:
            yield outcome
