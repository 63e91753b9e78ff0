"""Writes need an API key with the write scope; keys never reach the logs."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest
from litestar.testing import AsyncTestClient

from entrypoints.apikeys import READ, WRITE, ApiKey, generate
from entrypoints.http import create_app
from entrypoints.settings import Settings
from tests.integration.conftest import NewProduct
from tests.logs import captured_logs, rendered

READER = generate("reader", [READ])
WRITER = generate("writer", [WRITE])
BODY = {"price": "12.34", "stock": 7}


def bearer(token: str) -> dict[str, str]:
    """The Authorization header for ``token``."""
    return {"Authorization": f"Bearer {token}"}


def keyed(settings: Settings, *keys: ApiKey, **overrides: Any) -> Settings:
    """The session settings with only ``keys`` configured."""
    return msgspec.structs.replace(
        settings, api_keys=",".join(k.config_entry for k in keys), log_level="debug", **overrides
    )


@pytest.fixture(name="app_client")
async def _app_client(settings: Settings) -> AsyncIterator[AsyncTestClient]:
    """A client of an app that knows a read key and a write key, and sends no key by itself."""
    async with AsyncTestClient(app=create_app(keyed(settings, READER[1], WRITER[1]))) as client:
        yield client


def assert_problem(response: httpx.Response, status: int, slug: str) -> dict[str, Any]:
    """An RFC 9457 problem of this status and type, with the request id; return its body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["type"] == f"urn:productcore:problem:{slug}"
    assert body["status"] == status
    assert body["request_id"] == response.headers["x-request-id"]
    return body


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Basic dXNlcjpwYXNz"}, {"Authorization": "Bearer"}],
    ids=["no-header", "basic-scheme", "empty-bearer"],
)
async def test_put_without_a_bearer_key_is_401(
    app_client: AsyncTestClient, new_product: NewProduct, headers: dict[str, str]
) -> None:
    """A write with no bearer key is refused with 401, a WWW-Authenticate challenge, and no change."""
    product = await new_product()
    response = await app_client.put(f"/products/{product.id}", json=BODY, headers=headers)
    assert_problem(response, 401, "unauthorized")
    assert response.headers["www-authenticate"].startswith('Bearer realm="productcore"')
    assert (await app_client.get(f"/products/{product.id}")).json()["version"] == product.version


@pytest.mark.parametrize(
    "token",
    [
        "not-a-key",
        "pck_writer_" + "A" * 43,
        WRITER[0][:-1] + ("B" if WRITER[0][-1] != "B" else "C"),
        "pck_nobody_" + WRITER[0].split("_", 2)[2],
        WRITER[0] + "x",
        WRITER[0][:-1],
        WRITER[0] * 10,
    ],
    ids=["garbage", "wrong-secret", "one-char-changed", "unknown-id", "extra-char", "short", "too-long"],
)
async def test_put_with_an_invalid_key_is_401_invalid_token(
    app_client: AsyncTestClient, new_product: NewProduct, token: str
) -> None:
    """A bearer token matching no configured key is refused with 401 invalid_token."""
    product = await new_product()
    response = await app_client.put(f"/products/{product.id}", json=BODY, headers=bearer(token))
    assert_problem(response, 401, "unauthorized")
    assert 'error="invalid_token"' in response.headers["www-authenticate"]


async def test_put_with_a_read_only_key_is_403(app_client: AsyncTestClient, new_product: NewProduct) -> None:
    """A valid key without the write scope is refused with 403 insufficient_scope."""
    product = await new_product()
    response = await app_client.put(f"/products/{product.id}", json=BODY, headers=bearer(READER[0]))
    body = assert_problem(response, 403, "insufficient-scope")
    assert "reader" in body["detail"]
    assert 'error="insufficient_scope", scope="write"' in response.headers["www-authenticate"]
    assert (await app_client.get(f"/products/{product.id}")).json()["stock"] == product.stock


async def test_put_with_a_write_key_changes_the_product(
    app_client: AsyncTestClient, new_product: NewProduct
) -> None:
    """A write key (any case of the scheme name) may change price and stock."""
    product = await new_product()
    response = await app_client.put(
        f"/products/{product.id}", json=BODY, headers={"Authorization": f"bearer {WRITER[0]}"}
    )
    assert response.status_code == 200, response.text
    assert (response.json()["price"], response.json()["stock"]) == ("12.34", 7)


async def test_reads_are_public_but_a_bad_key_on_a_read_is_refused(
    app_client: AsyncTestClient, new_product: NewProduct
) -> None:
    """Reads need no key; a read sent with an unknown key learns it is invalid (401)."""
    product = await new_product()
    assert (await app_client.get(f"/products/{product.id}")).status_code == 200
    assert (await app_client.get(f"/products/{product.id}", headers=bearer(READER[0]))).status_code == 200
    response = await app_client.get(f"/products/{product.id}", headers=bearer("pck_reader_nope"))
    assert_problem(response, 401, "unauthorized")


async def test_reads_can_require_a_key(settings: Settings, new_product: NewProduct) -> None:
    """With PRODUCTCORE_REQUIRE_KEY_FOR_READS, reads need a key with read (or write) scope."""
    product = await new_product()
    app = create_app(keyed(settings, READER[1], WRITER[1], require_key_for_reads=True))
    async with AsyncTestClient(app=app) as client:
        anonymous = await client.get(f"/products/{product.id}")
        schema = (await client.get("/docs/openapi.json")).json()
        health = await client.get("/health/live")
        as_reader = await client.get(f"/products/{product.id}", headers=bearer(READER[0]))
        as_writer = await client.get(f"/products/{product.id}", headers=bearer(WRITER[0]))
    assert_problem(anonymous, 401, "unauthorized")
    assert health.status_code == 200
    assert schema["security"] == [{"apiKey": []}]
    assert (as_reader.status_code, as_writer.status_code) == (200, 200)


async def test_api_keys_never_reach_the_logs(settings: Settings, new_product: NewProduct) -> None:
    """At debug level, no log record of any logger contains a presented key, valid or not."""
    product = await new_product()
    wrong = "pck_writer_" + "Z" * 43
    app = create_app(keyed(settings, READER[1], WRITER[1]))
    with captured_logs() as records:
        async with AsyncTestClient(app=app) as client:
            for token in (WRITER[0], READER[0], wrong):
                await client.put(f"/products/{product.id}", json=BODY, headers=bearer(token))
                await client.get(f"/products/{product.id}", headers=bearer(token))
            await client.put(f"/products/{product.id}", json={"price": "x"}, headers=bearer(WRITER[0]))
    text = rendered(records)
    assert "bearer token rejected" in text, "the capture must see the gate's own records"
    assert "authenticated as API key writer" in text
    for token in (WRITER[0], READER[0], wrong):
        assert token.split("_", 2)[2][:12] not in text


def free_port() -> int:
    """A loopback port nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(name="demo_server")
def _demo_server(database_url: str, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """``productcore serve --demo`` in a subprocess: yield its URL and the key it printed."""
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("PRODUCTCORE_")},
        "PRODUCTCORE_DATABASE_URL": database_url,
        "PRODUCTCORE_DATA_DIR": str(tmp_path),
    }
    command = [sys.executable, "-m", "entrypoints.cli.main", "serve", "--demo", "--port", str(port)]
    server = subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True)
    try:
        assert server.stderr is not None
        printed = ""
        while (line := server.stderr.readline()) and "demo write key" not in line:
            printed += line
        match = re.search(r"demo write key \(valid for this run only\): (\S+)", line)
        assert match is not None, f"serve --demo printed no key:\n{printed}"
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while not _answers(url + "/health/live"):
            assert server.poll() is None, "serve --demo exited"
            assert time.monotonic() < deadline, "serve --demo did not start in time"
            time.sleep(0.1)
        yield url, match[1]
    finally:
        server.terminate()
        server.wait(timeout=30)


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.TransportError:
        return False


async def test_serve_demo_prints_a_write_key_the_server_accepts(
    demo_server: tuple[str, str], new_product: NewProduct
) -> None:
    """``serve --demo`` prints a write key that this run of the server accepts for a PUT."""
    url, key = demo_server
    product = await new_product()
    async with httpx.AsyncClient(base_url=url) as client:
        refused = await client.put(f"/products/{product.id}", json=BODY)
        accepted = await client.put(f"/products/{product.id}", json=BODY, headers=bearer(key))
    assert refused.status_code == 401
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["stock"] == 7
