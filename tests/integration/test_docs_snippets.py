"""Every runnable block of README.md and docs/ runs as written, so the docs cannot drift from the code.

Blocks by language: ``sh`` runs in bash (``curl`` against a demo server that stands in for
``localhost:8000``, ``productcore`` against its database); ``python`` runs as a script on the same
database; ``json`` must parse. ``shell``, ``console`` and ``text`` blocks are shown, not run (an install,
Docker, a long benchmark, a synopsis): their ``productcore`` commands must still name real commands and
options.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shlex
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest
from click.testing import CliRunner

from adapters.postgres import migrate
from adapters.postgres.bulk import load_products
from entrypoints.apikeys import ApiKey
from entrypoints.cli.demo_data import demo_products
from entrypoints.cli.main import cli
from entrypoints.http import create_app
from entrypoints.settings import Settings
from tests.integration.live import live_server
from tests.servers import scratch_database

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^```(?P<lang>[\w-]*)\n(?P<body>.*?)^```$", re.M | re.S)
SHOWN = {"shell", "console", "text", ""}


def _blocks(lang: str) -> list[tuple[str, str]]:
    return [
        (f"{page.relative_to(ROOT)}#{n}", m["body"])
        for page in PAGES
        for n, m in enumerate(FENCE.finditer(page.read_text()))
        if m["lang"] == lang
    ]


def test_every_block_has_a_known_language() -> None:
    """A block is run (sh, python), parsed (json) or deliberately only shown; nothing slips in untested."""
    languages = {m["lang"] for page in PAGES for m in FENCE.finditer(page.read_text())}
    assert languages <= {"sh", "python", "json"} | SHOWN, languages
    assert len(_blocks("sh")) >= 4


@pytest.fixture(name="demo", scope="module")
def _demo(
    postgres_admin_url: str, settings: Settings, write_key: tuple[str, ApiKey]
) -> Iterator[dict[str, str]]:
    """A demo server on a database of 500 demo products, and the environment the blocks run in."""
    with scratch_database(postgres_admin_url) as url:
        asyncio.run(migrate(url))
        load_products(url, demo_products(500, 1), expected_rows=500)
        prefix = f"productcore-test-{uuid.uuid4().hex[:8]}"
        demo = msgspec.structs.replace(
            settings,
            database_url=url,
            cache_key_prefix=f"{prefix}:cache",
            rate_limit_key_prefix=f"{prefix}:ratelimit",
        )
        with live_server(create_app(demo)) as base:
            env = {k: v for k, v in os.environ.items() if not k.startswith("PRODUCTCORE_")}
            env.update(
                PRODUCTCORE_DATABASE_URL=url,
                PRODUCTCORE_REDIS_URL=settings.redis_url or "",
                PRODUCTCORE_CACHE_KEY_PREFIX=f"{prefix}:cache",
                KEY=write_key[0],
                BASE=base,
                PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
            )
            yield env


def _local(body: str, base: str) -> str:
    return body.replace("http://localhost:8000", base).replace("localhost:8000", base)


@pytest.mark.parametrize(("where", "body"), _blocks("sh"))
def test_shell_blocks_run(demo: dict[str, str], tmp_path: Path, where: str, body: str) -> None:
    """Each sh block runs in bash without an error; curl fails it on any HTTP error status."""
    script = 'curl() { command curl --silent --show-error --fail-with-body "$@"; }\n' + _local(
        body, demo["BASE"]
    )
    run = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=tmp_path,
        env=demo,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, (
        f"{where}\n{body}\nstdout:\n{run.stdout[-3000:]}\nstderr:\n{run.stderr[-3000:]}"
    )


@pytest.mark.parametrize(("where", "body"), _blocks("python"))
def test_python_blocks_run(demo: dict[str, str], tmp_path: Path, where: str, body: str) -> None:
    """Each python block runs as a script against the demo database."""
    run = subprocess.run(
        [sys.executable, "-c", body],
        cwd=tmp_path,
        env=demo,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, f"{where}\n{run.stderr[-3000:]}"


@pytest.mark.parametrize(("where", "body"), _blocks("json"))
def test_json_blocks_parse(where: str, body: str) -> None:
    """Each json block is JSON."""
    json.loads(body)


def _shown_commands() -> list[tuple[str, list[str]]]:
    commands = []
    for lang in sorted(SHOWN):
        for where, body in _blocks(lang):
            for line in body.replace("\\\n", " ").splitlines():
                line = line.removeprefix("$ ").split("#")[0].split("&&")[-1].strip()
                if line.startswith("productcore "):
                    words = [w for w in shlex.split(line.replace("[", " ").replace("]", " ")) if w != "|"]
                    commands.append((where, words[1:]))
    return commands


@pytest.mark.parametrize(("where", "words"), _shown_commands())
def test_shown_commands_name_real_commands_and_options(where: str, words: list[str]) -> None:
    """A command only shown still names a real command, and each option it uses is one it takes."""
    path = [w for w in words if not w.startswith("-")][:2]
    for depth in (2, 1):
        help_run = CliRunner().invoke(cli, [*path[:depth], "--help"])
        if help_run.exit_code == 0 and "Commands:" not in help_run.output:
            break
    assert help_run.exit_code == 0, (where, words, help_run.output)
    for option in (w.split("=")[0] for w in words if w.startswith("--")):
        assert option in help_run.output, (where, option, help_run.output)
