"""The command line in words: a rate and ETA, plain row errors, clear ids, a relay that needs Redis."""

from __future__ import annotations

import asyncio
import socket
from decimal import Decimal
from pathlib import Path

import psycopg

from adapters.postgres import migrate
from adapters.postgres.bulk import REBUILD_INDEXES_FROM, ProductRow, load_products
from tests.integration.cli_runner import invoke, run_process
from tests.servers import scratch_database


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_seed_shows_rate_and_time_left(database_url: str) -> None:
    """The seed bar has a rows/s rate and an ETA, and the summary counts products."""
    result = invoke("seed", "--count", "2500", env={"PRODUCTCORE_DATABASE_URL": database_url})
    assert result.exit_code == 0, result.output
    assert "rows/s" in result.output and "eta" in result.output
    assert "seeded 2,500 products in" in result.output


def test_loads_report_progress_often_and_name_the_steps_after_the_rows(postgres_admin_url: str) -> None:
    """Progress comes every 1,000 rows (not 20,000); index rebuilding and ANALYZE are named as they start."""
    with scratch_database(postgres_admin_url) as url:
        asyncio.run(migrate(url))
        steps: list[str] = []
        counts: list[int] = []
        rows = [ProductRow(f"Polish {n}", None, Decimal("1.00"), 1) for n in range(2500)]
        written = load_products(
            url, rows, expected_rows=REBUILD_INDEXES_FROM, progress=counts.append, stage=steps.append
        )
        assert written == 2500 and counts == [1000, 1000, 500]
        assert steps == ["rebuilding indexes", "analyzing"]
        with psycopg.connect(url) as conn:
            indexes = conn.execute("SELECT count(*) FROM pg_indexes WHERE tablename = 'products'").fetchone()
        assert indexes is not None and indexes[0] >= 4


def test_import_messages_read_as_sentences(database_url: str, tmp_path: Path) -> None:
    """One product is "1 product"; a JSON Lines row error names the field in words, like CSV's."""
    env = {"PRODUCTCORE_DATABASE_URL": database_url}
    one = tmp_path / "one.csv"
    one.write_text("name,price,stock\nPolish singular Qz7,1.00,1\n", encoding="utf-8")
    result = invoke("import", str(one), env=env)
    assert result.exit_code == 0 and f"imported 1 product from {one}" in result.output
    bad = tmp_path / "bad.jsonl"
    bad.write_text(
        '{"name": "Qz7 a", "price": "1.00", "stock": "5"}\n{"name": "Qz7 b", "stock": 1}\n'
        '{"name": "Qz7 c", "price": "1.00", "stock": 1, "colour": "red"}\n',
        encoding="utf-8",
    )
    result = invoke("import", str(bad), env=env)
    assert result.exit_code == 1
    # A row's stock is read as the PUT body's is, and explained in the same words.
    assert f"{bad}:1: stock must be a whole number written as a JSON integer, such as 5" in result.output
    assert f"{bad}:2: price is required" in result.output
    assert f"{bad}:3: colour is not a known field" in result.output
    assert "3 bad rows: nothing loaded" in result.output and "`" not in result.output


def test_a_file_that_is_not_utf8_is_refused_naming_the_line(database_url: str, tmp_path: Path) -> None:
    """A Latin-1 file's error names the line and byte that are not UTF-8."""
    path = tmp_path / "latin.csv"
    path.write_bytes("name,price,stock\nTea,1.00,1\nCaf\u00e9,1.00,1\n".encode("latin-1"))
    result = invoke("import", str(path), env={"PRODUCTCORE_DATABASE_URL": database_url})
    assert result.exit_code == 1
    assert f"{path}:3: not UTF-8 text (byte 0xe9, byte 4 of the line)" in result.output


def test_a_bad_product_id_says_what_an_id_is(database_url: str) -> None:
    """`get abc` is a usage error that says an id is a whole number in range, not click's "integer range"."""
    result = invoke("get", "abc", env={"PRODUCTCORE_DATABASE_URL": database_url})
    assert result.exit_code == 2
    assert "'abc' is not a product id (a whole number from 1 to 9223372036854775807)" in result.output
    assert "integer range" not in result.output


def test_relay_without_a_reachable_redis_exits_1(database_url: str) -> None:
    """The relay only writes to Redis: with none reachable at start it exits 1, in one line."""
    result = run_process(
        "relay",
        env={
            "PRODUCTCORE_DATABASE_URL": database_url,
            "PRODUCTCORE_REDIS_URL": f"redis://127.0.0.1:{_closed_port()}/0",
        },
    )
    assert result.returncode == 1, result.stderr
    assert result.stderr.splitlines()[-1].startswith("Error: cannot reach Redis (PRODUCTCORE_REDIS_URL)")
    assert "Traceback" not in result.stderr and "WARNING" not in result.stderr
