"""A client generated from the served OpenAPI document by openapi-python-client works unedited."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest

from entrypoints.apikeys import ApiKey
from entrypoints.http import create_app
from entrypoints.settings import Settings
from tests.integration.conftest import NewProduct
from tests.integration.live import live_server

GENERATOR = Path(sys.executable).with_name("openapi-python-client")


@pytest.fixture(name="base_url", scope="module")
def _base_url(settings: Settings) -> Iterator[str]:
    """The app over real HTTP."""
    with live_server(create_app(settings)) as url:
        yield url


@pytest.fixture(name="generated", scope="module")
def _generated(base_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    """The package openapi-python-client writes from /docs/openapi.json, imported as it is."""
    root = tmp_path_factory.mktemp("generated")
    spec = root / "openapi.json"
    spec.write_bytes(httpx.get(f"{base_url}/docs/openapi.json").content)
    env = {**os.environ, "PATH": f"{GENERATOR.parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    run = subprocess.run(
        [GENERATOR, "generate", "--path", spec, "--meta", "none", "--output-path", root / "productcore_api"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Warning" not in run.stdout + run.stderr, run.stdout + run.stderr
    sys.path.insert(0, str(root))
    try:
        yield importlib.import_module("productcore_api")
    finally:
        sys.path.remove(str(root))
        for name in [m for m in sys.modules if m == "productcore_api" or m.startswith("productcore_api.")]:
            del sys.modules[name]


def _api(package: ModuleType, module: str) -> Any:
    return importlib.import_module(f"{package.__name__}.{module}")


def _follow(link: str) -> dict[str, Any]:
    """The keyword arguments of the generated ``list_products`` that a page link stands for."""
    return dict(parse_qsl(urlsplit(link).query))


async def test_generated_client_reads_lists_searches_and_writes_conditionally(
    generated: ModuleType, base_url: str, write_key: tuple[str, ApiKey], new_product: NewProduct
) -> None:
    """get, list via page links, search, a conditional PUT (then a stale one: 412) and a 304, unedited."""
    client_module = _api(generated, "client")
    reader = client_module.Client(base_url=base_url, raise_on_unexpected_status=True)
    writer = client_module.AuthenticatedClient(
        base_url=base_url, token=write_key[0], raise_on_unexpected_status=True
    )
    get_product = _api(generated, "api.products.get_product")
    list_products = _api(generated, "api.products.list_products")
    search_products = _api(generated, "api.products.search_products")
    update_product = _api(generated, "api.products.update_product")
    models = _api(generated, "models")
    products = [await new_product(name=f"Generated client kettle {n}", price="20.00") for n in range(6)]
    first = products[0]

    read = get_product.sync_detailed(first.id, client=reader)
    assert read.status_code == 200 and read.parsed.name == first.name
    etag = read.headers["etag"]
    assert etag == f'"{read.parsed.version}"'

    page = list_products.sync(client=reader, limit=2, sort=models.Sort("-id"))
    seen = [item.id for item in page.items]
    for _ in range(2):
        query = _follow(page.links.next_)
        page = list_products.sync(
            client=reader, limit=int(query["limit"]), sort=models.Sort(query["sort"]), cursor=query["cursor"]
        )
        seen += [item.id for item in page.items]
    assert seen == sorted(seen, reverse=True) and len(set(seen)) == 6
    assert {p.id for p in products} == set(seen)

    found = search_products.sync(client=reader, name="Generated client kettle", max_price="20")
    assert {item.id for item in found.items} == {p.id for p in products}

    change = models.PriceStockIn(price="18.50", stock=4)
    written = update_product.sync_detailed(first.id, client=writer, body=change, if_match=etag)
    assert written.status_code == 200 and written.parsed.price == "18.50"
    new_etag = written.headers["etag"]
    assert new_etag != etag

    stale = update_product.sync_detailed(first.id, client=writer, body=change, if_match=etag)
    assert stale.status_code == 412 and stale.parsed.current_version == written.parsed.version

    unchanged = get_product.sync_detailed(first.id, client=reader, if_none_match=new_etag)
    assert unchanged.status_code == 304 and unchanged.parsed is None and unchanged.headers["etag"] == new_etag
