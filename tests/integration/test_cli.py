"""The command line against real PostgreSQL: migrate, seed, get, search, update, and their exit codes."""

from __future__ import annotations

import json
from datetime import datetime

import psycopg
import pytest

from entrypoints.http.schemas import PageMeta
from tests.integration.cli_runner import count_products as _count
from tests.integration.cli_runner import invoke


@pytest.fixture(name="run")
def _run(database_url: str):
    """Invoke the CLI with the session database configured."""

    def run(*args: str):
        return invoke(*args, env={"PRODUCTCORE_DATABASE_URL": database_url})

    return run


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
    assert found["meta"]["total"] == 1
    assert [i["id"] for i in found["items"]] == [product_id]
    updated = json.loads(run("update", str(product_id), "--price", "13.50", "--stock", "9").output)
    assert (updated["price"], updated["stock"], updated["version"]) == ("13.50", 9, 2)
    assert run("update", str(product_id), "--price", "1.001", "--stock", "1").exit_code == 2


def test_domain_failures_exit_1_without_a_usage_banner(run, database_url: str) -> None:
    """A version conflict and a missing product are failures of the request, not of its syntax."""
    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            "INSERT INTO products (name, price, stock) VALUES ('Cli Conflict Lamp', 5, 1) RETURNING id"
        ).fetchone()
    assert row is not None
    run("update", str(row[0]), "--price", "6", "--stock", "1")
    stale = run("update", str(row[0]), "--price", "1", "--stock", "1", "--if-version", "1")
    assert stale.exit_code == 1 and "version 2, not 1" in stale.output
    missing = run("get", "987654321")
    assert missing.exit_code == 1 and "does not exist" in missing.output
    for result in (stale, missing):
        assert "Usage:" not in result.output and result.output.startswith("Error: ")


def test_search_prints_items_and_the_http_meta(run, database_url: str) -> None:
    """search prints {items, meta} with the meta fields of the HTTP API's page body."""
    with psycopg.connect(database_url) as conn:
        conn.execute("INSERT INTO products (name, price, stock) VALUES ('Cli Meta Quokka', 7, 1)")
    found = json.loads(run("search", "--name", "meta quokka", "--sort", "-price").output)
    assert set(found) == {"items", "meta"}
    assert set(found["meta"]) == set(PageMeta.__struct_fields__)
    assert found["meta"] == {
        "page": 1,
        "limit": 20,
        "sort": "-price",
        "total": 1,
        "total_is_exact": True,
        "total_pages": 1,
    }


def test_seed_leaves_fresh_planner_statistics(run, database_url: str) -> None:
    """A seed that grows the catalogue is followed by ANALYZE, so estimated totals are right at once."""
    with psycopg.connect(database_url) as conn:
        row = conn.execute("SELECT now()").fetchone()
    assert row is not None
    started: datetime = row[0]
    assert run("seed", "--count", str(max(2000, _count(database_url) // 5))).exit_code == 0
    with psycopg.connect(database_url) as conn:
        stats = conn.execute(
            "SELECT last_analyze, n_mod_since_analyze FROM pg_stat_user_tables WHERE relname = 'products'"
        ).fetchone()
        tuples = conn.execute("SELECT reltuples FROM pg_class WHERE relname = 'products'").fetchone()
    assert stats is not None and tuples is not None
    assert stats[0] is not None and stats[0] >= started
    assert tuples[0] == pytest.approx(_count(database_url), rel=0.02)


def test_bad_configuration_names_the_variable(database_url: str) -> None:
    """A bad environment value exits 2 naming the variable, without a usage banner for a good command line."""
    result = invoke(
        "get", "1", env={"PRODUCTCORE_DATABASE_URL": database_url, "PRODUCTCORE_DB_POOL_MAX": "zero"}
    )
    assert result.exit_code == 2 and "PRODUCTCORE_DB_POOL_MAX" in result.output
    assert "Usage:" not in result.output
