"""``productcore import`` against real PostgreSQL: formats, bad rows, bad files, and what is loaded."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.cli_runner import count_products as _count
from tests.integration.cli_runner import invoke


@pytest.fixture(name="run")
def _run(database_url: str):
    """Invoke the CLI with the session database configured."""

    def run(*args: str):
        return invoke(*args, env={"PRODUCTCORE_DATABASE_URL": database_url})

    return run


def test_import_csv_loads_every_row(run, database_url: str, tmp_path: Path) -> None:
    """A valid CSV is loaded in full; quotes, commas and unicode survive."""
    path = tmp_path / "products.csv"
    path.write_text(
        'name,description,price,stock\n"Cafe\u0301 Noir, 250g",Dark roast,7.5,10\n'
        "Teapot \U0001f375,,19.99,0\n",
        encoding="utf-8",
    )
    result = run("import", str(path))
    assert result.exit_code == 0, result.output
    assert _count(database_url, "name = %s AND price = 7.50", ("Cafe\u0301 Noir, 250g",)) == 1
    assert _count(database_url, "name = %s AND description IS NULL", ("Teapot \U0001f375",)) == 1


def test_import_with_bad_rows_loads_nothing_and_names_the_lines(
    run, database_url: str, tmp_path: Path
) -> None:
    """Bad rows are reported by line number and nothing at all is loaded."""
    path = tmp_path / "bad.csv"
    path.write_text(
        "name,price,stock\nGood Lamp Zq1,10.00,1\nBad Price Zq1,ten,1\nGood Chair Zq1,5,2\n,1.00,1\n"
        "Bad Stock Zq1,1.00,-4\nToo Precise Zq1,1.005,1\n",
        encoding="utf-8",
    )
    result = run("import", str(path))
    assert result.exit_code == 1
    for line in (3, 5, 6, 7):
        assert f"bad.csv:{line}:" in result.output
    assert "bad.csv:2:" not in result.output and "nothing loaded" in result.output
    assert _count(database_url, "name LIKE %s", ("%Zq1",)) == 0


def test_import_skip_invalid_loads_the_good_rows(run, database_url: str, tmp_path: Path) -> None:
    """--skip-invalid loads what is valid and reports what was skipped."""
    path = tmp_path / "mixed.jsonl"
    path.write_text(
        '{"name": "Kx9 Good", "price": "3.50", "stock": 1}\n'
        '{"name": "Kx9 Bad", "price": -1, "stock": 1}\n'
        "not json\n"
        '{"name": "Kx9 Also good", "price": 4, "stock": 2, "description": "fine"}\n'
        '{"name": "Kx9 Extra", "price": 4, "stock": 2, "colour": "red"}\n',
        encoding="utf-8",
    )
    refused = run("import", str(path))
    assert refused.exit_code == 1 and _count(database_url, "name LIKE %s", ("Kx9%",)) == 0
    result = run("import", "--skip-invalid", str(path))
    assert result.exit_code == 0, result.output
    assert "skipped 3 bad rows" in result.output
    assert _count(database_url, "name LIKE %s", ("Kx9%",)) == 2


@pytest.mark.parametrize("skip_invalid", [False, True])
@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("Lamp Hq2,10.00,1\n", "missing: name, price, stock"),
        ("a,b\n1,2\n", "missing: name, price, stock"),
        ("name,price,stock,colour\nLamp Hq2,1,1,red\n", "unknown columns: colour"),
        ("name,price,stock,name\nLamp Hq2,1,1,Other Hq2\n", "columns named more than once: name"),
        ("", "expected a header"),
    ],
)
def test_a_csv_with_an_unusable_header_is_a_file_error(
    run, database_url: str, tmp_path: Path, text: str, reason: str, skip_invalid: bool
) -> None:
    """A header lacking required columns, or with unknown or repeated ones, loads nothing, even skipping."""
    path = tmp_path / "header.csv"
    path.write_text(text, encoding="utf-8")
    result = run("import", *(["--skip-invalid"] if skip_invalid else []), str(path))
    assert result.exit_code == 1, result.output
    assert "header.csv:1:" in result.output and reason in result.output and "nothing loaded" in result.output
    assert "imported" not in result.output
    assert _count(database_url, "name LIKE %s", ("%Hq2",)) == 0


def test_a_csv_with_a_byte_order_mark_loads(run, database_url: str, tmp_path: Path) -> None:
    """Excel's "CSV UTF-8" starts with a byte order mark; the header is still recognised."""
    path = tmp_path / "excel.csv"
    path.write_bytes("name,price,stock\r\nBom Teapot Wz4,4.20,3\r\n".encode("utf-8-sig"))
    result = run("import", str(path))
    assert result.exit_code == 0, result.output
    assert _count(database_url, "name = %s AND price = 4.20", ("Bom Teapot Wz4",)) == 1


def test_a_json_array_is_refused_with_a_pointer_to_json_lines(run, database_url: str, tmp_path: Path) -> None:
    """A .json file holding an array is a file error that says JSON Lines is expected."""
    path = tmp_path / "products.json"
    path.write_text('[{"name": "Array Lamp Vv7", "price": "1.00", "stock": 1}]\n', encoding="utf-8")
    result = run("import", "--skip-invalid", str(path))
    assert result.exit_code == 1
    assert "products.json:1:" in result.output and "JSON Lines" in result.output
    assert _count(database_url, "name LIKE %s", ("%Vv7",)) == 0


def test_the_format_comes_from_the_extension_or_format(run, database_url: str, tmp_path: Path) -> None:
    """An unknown extension is a usage error unless --format names the format."""
    path = tmp_path / "products.txt"
    path.write_text('{"name": "Txt Lamp Ff3", "price": "2.00", "stock": 1}\n', encoding="utf-8")
    refused = run("import", str(path))
    assert refused.exit_code == 2 and "--format" in refused.output
    result = run("import", "--format", "jsonl", str(path))
    assert result.exit_code == 0, result.output
    assert _count(database_url, "name = %s", ("Txt Lamp Ff3",)) == 1


@pytest.mark.parametrize(
    ("text", "rows"),
    [
        ("name,price,stock\nA Pb5,1,1\nB Pb5,2,2\n", 2),
        ("name,price,stock\nA Pb5,1,1", 1),
        ('name,description,price,stock\nC Pb5,"two\nlines",1,1\n', 1),
    ],
)
def test_the_progress_bar_ends_at_its_total(run, tmp_path: Path, text: str, rows: int) -> None:
    """The bar counts rows, not lines: it ends at n/n with or without a header, a final newline or
    a multi-line field."""
    path = tmp_path / "progress.csv"
    path.write_text(text, encoding="utf-8")
    result = run("import", str(path))
    assert result.exit_code == 0, result.output
    assert f" {rows}/{rows} " in result.output
