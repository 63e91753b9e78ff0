"""Read products from CSV or JSON Lines, checking every row and naming bad ones by line number."""

from __future__ import annotations

import csv
import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import IO

from adapters.postgres.bulk import ProductRow
from entrypoints import json_fields
from productcore.errors import FieldError, InvalidInput
from productcore.validation import parse_name, parse_price, parse_stock, parsed

FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl"}


class BadFile(Exception):
    """The file as a whole cannot be loaded (an unusable header, a JSON array): nothing is."""

    def __init__(self, line: int, reason: str) -> None:
        super().__init__(reason)
        self.line = line
        self.reason = reason


@dataclass
class ImportReport:
    """What a pass over a file found: the bad lines, with a reason each."""

    errors: list[tuple[int, str]] = field(default_factory=list)
    rows: int = 0


def _description(text: str | None) -> str | None:
    """A description: any text without NUL characters; an empty one is none."""
    if text is not None and "\x00" in text:
        raise ValueError("must not contain NUL characters")
    return text or None


def _row(
    errors: list[FieldError],
    name: str | None,
    description: str | None,
    price: Decimal | None,
    stock: int | None,
) -> ProductRow | str:
    """The row of checked values, or what is wrong with each bad one, as one line of the report."""
    if errors or name is None or price is None or stock is None:
        return "; ".join(f"{e.field} {e.message}" for e in errors)
    return ProductRow(name=name, description=description, price=price, stock=stock)


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
    repeated = sorted({column for column in reader.fieldnames if reader.fieldnames.count(column) > 1})
    if repeated:
        raise BadFile(1, f"columns named more than once: {', '.join(repeated)} (name each column once)")
    return _csv_records(reader)


def _csv_records(reader: csv.DictReader[str]) -> Iterator[tuple[int, ProductRow | str]]:
    for record in reader:
        line = reader.line_num
        if None in record or any(v is None for v in record.values()):
            yield line, "wrong number of fields"
            continue
        errors: list[FieldError] = []
        yield (
            line,
            _row(
                errors,
                parsed(errors, "name", parse_name, record["name"]),
                parsed(errors, "description", _description, record.get("description")),
                parsed(errors, "price", parse_price, record["price"]),
                parsed(errors, "stock", parse_stock, record["stock"]),
            ),
        )


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
        if text.strip():
            yield line, _jsonl_row(text)


def _jsonl_row(text: str) -> ProductRow | str:
    """A row read as the PUT body is: the same JSON rules for the price and the stock."""
    try:
        found = json_fields.members(text, ("name", "price", "stock"), ("description",), whole="row")
    except InvalidInput as error:
        return "; ".join(f"{e.field} {e.message}" for e in error.errors)
    errors: list[FieldError] = []
    return _row(
        errors,
        parsed(errors, "name", lambda raw: parse_name(json_fields.text(raw)), found["name"]),
        parsed(errors, "description", _json_description, found.get("description", b"null")),
        parsed(errors, "price", json_fields.price, found["price"]),
        parsed(errors, "stock", json_fields.stock, found["stock"]),
    )


def _json_description(raw: bytes) -> str | None:
    return _description(json_fields.optional_text(raw))


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
