"""The command line against real PostgreSQL: migrate, seed, import, get, search, update."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner

from entrypoints.cli.main import cli


@pytest.fixture(name="run")
def _run(database_url: str):
    """Invoke the CLI with the session database configured."""
    runner = CliRunner()

    def run(*args: str):
        return runner.invoke(
            cli, list(args), env={"PRODUCTCORE_DATABASE_URL": database_url}, catch_exceptions=False
        )

    return run


def _count(url: str, where: str = "TRUE", params: tuple = ()) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute(f"SELECT count(*) FROM products WHERE {where}", params).fetchone()  # type: ignore[arg-type]
    assert row is not None
    return int(row[0])


def test_db_migrate_is_a_no_op_when_current(run) -> None:
    """A migrated database has nothing to apply."""
    result = run("db", "migrate")
    assert result.exit_code == 0 and "schema is up to date" in result.output


def test_seed_adds_products(run, database_url: str) -> None:
    """seed --count N adds N plausible products."""
    before = _count(database_url)
    result = run("seed", "--count", "1500", "--seed", "7")
    assert result.exit_code == 0, result.output
    assert _count(database_url) == before + 1500
    assert "seeded 1,500 products" in result.output


def test_seed_rejects_a_bad_count(run) -> None:
    """A count that is not a positive integer is a usage error."""
    assert run("seed", "--count", "0").exit_code == 2
    assert run("seed", "--count", "lots").exit_code == 2


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


def test_import_rejects_a_csv_without_the_required_header(run, tmp_path: Path) -> None:
    """A CSV missing required columns is refused at line 1."""
    path = tmp_path / "noheader.csv"
    path.write_text("Lamp,10.00,1\n", encoding="utf-8")
    result = run("import", str(path))
    assert result.exit_code == 1 and "noheader.csv:1:" in result.output


def test_get_search_update_round_trip(run, database_url: str) -> None:
    """get, search and update call the same service as the API."""
    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            "INSERT INTO products (name, price, stock) VALUES ('Cli Wombat Lamp', 12.00, 3) RETURNING id"
        ).fetchone()
    assert row is not None
    product_id = row[0]
    shown = json.loads(run("get", str(product_id)).output)
    assert (shown["name"], shown["price"]) == ("Cli Wombat Lamp", "12.00")
    found = json.loads(run("search", "--name", "wombat lamp").output)
    assert [i["id"] for i in found["items"]] == [product_id]
    updated = json.loads(run("update", str(product_id), "--price", "13.50", "--stock", "9").output)
    assert (updated["price"], updated["stock"], updated["version"]) == ("13.50", 9, 2)
    stale = run("update", str(product_id), "--price", "1", "--stock", "1", "--if-version", "1")
    assert stale.exit_code == 2 and "version 2" in stale.output
    assert run("get", "987654321").exit_code == 1
    assert run("update", str(product_id), "--price", "1.001", "--stock", "1").exit_code == 2


def test_bad_configuration_names_the_variable(database_url: str) -> None:
    """A bad environment value stops the command with the variable's name."""
    result = CliRunner().invoke(
        cli, ["get", "1"], env={"PRODUCTCORE_DATABASE_URL": database_url, "PRODUCTCORE_DB_POOL_MAX": "zero"}
    )
    assert result.exit_code == 2 and "PRODUCTCORE_DB_POOL_MAX" in result.output
