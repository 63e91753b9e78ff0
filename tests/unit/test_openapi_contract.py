"""The OpenAPI document: the same bytes from every process, valid examples, every status with its headers."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from typing import Any

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from entrypoints.http.conditional import matches_none
from entrypoints.http.contract import ENTITY_TAGS
from productcore.errors import InvalidInput

_DUMP = """
import sys
from litestar._openapi.plugin import OpenAPIPlugin
from litestar.serialization import encode_json
from entrypoints.http import create_app
from entrypoints.settings import Settings
app = create_app(Settings.from_env({}, database_url="postgresql://nobody@127.0.0.1:1/none"))
sys.stdout.buffer.write(encode_json(app.plugins.get(OpenAPIPlugin).provide_openapi_schema()))
"""


def _document(hash_seed: str) -> bytes:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRODUCTCORE_")}
    env["PYTHONHASHSEED"] = hash_seed
    run = subprocess.run([sys.executable, "-c", _DUMP], env=env, capture_output=True, check=True, timeout=120)
    return run.stdout


@pytest.fixture(name="document", scope="module")
def _document_fixture() -> dict[str, Any]:
    """The document as one process serves it."""
    document: dict[str, Any] = msgspec.json.decode(_document("0"))
    return document


def test_every_process_serves_the_same_bytes() -> None:
    """Processes with different hash seeds, started at different times, serve byte-identical documents."""
    assert len({_document(seed) for seed in ("1", "2", "3")}) == 1


def test_every_example_is_valid_for_its_schema(document: dict[str, Any]) -> None:
    """Each component's example is an instance of it (realistic: a price like "189.90", UTC times)."""
    registry: Registry[Any] = Registry().with_resource(
        "urn:productcore", Resource.from_contents(document, default_specification=DRAFT202012)
    )
    schemas = document["components"]["schemas"]
    examples = {name: schema["examples"] for name, schema in schemas.items() if "examples" in schema}
    assert {"ProductOut", "ProductPage", "PriceStockIn", "Problem", "HealthReport"} <= set(examples)
    for name, instances in examples.items():
        validator = Draft202012Validator(
            {"$ref": f"urn:productcore#/components/schemas/{name}"}, registry=registry
        )
        for instance in instances:
            validator.validate(instance)
    product = examples["ProductOut"][0]
    assert re.fullmatch(r"[0-9]+\.[0-9]{2}", product["price"]) and product["created_at"].endswith("Z")


def _operations(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {op["operationId"]: op for item in document["paths"].values() for op in item.values()}


def _headers(response: dict[str, Any]) -> set[str]:
    return set(response.get("headers", {}))


def test_conditional_requests_are_in_the_contract(document: dict[str, Any]) -> None:
    """GET takes If-None-Match and may answer 304; PUT takes both; ETag is on 200, 304 and 412."""
    operations = _operations(document)
    get, put = operations["getProduct"], operations["updateProduct"]
    assert {p["name"] for p in get["parameters"] if p["in"] == "header"} == {"If-None-Match"}
    assert {p["name"] for p in put["parameters"] if p["in"] == "header"} == {"If-Match", "If-None-Match"}
    assert "content" not in get["responses"]["304"]
    for response in (get["responses"]["200"], get["responses"]["304"], put["responses"]["200"]):
        assert "ETag" in _headers(response)
    assert "ETag" in _headers(put["responses"]["412"]) and "428" in put["responses"]


def test_every_status_carries_its_headers(document: dict[str, Any]) -> None:
    """Retry-After on 429 and 503, WWW-Authenticate on 401 and 403, RateLimit on all charged answers."""
    operations = _operations(document)
    for name in ("listProducts", "searchProducts", "getProduct", "updateProduct"):
        responses = operations[name]["responses"]
        assert {"429", "503", "401"} <= set(responses), name
        for status, response in responses.items():
            assert {"RateLimit", "RateLimit-Policy", "X-Request-ID", "Cache-Control"} <= _headers(response)
            if status in ("429", "503"):
                assert "Retry-After" in _headers(response), (name, status)
            if status in ("401", "403"):
                assert "WWW-Authenticate" in _headers(response), (name, status)
    assert "RateLimit" not in _headers(operations["ready"]["responses"]["200"])
    assert operations["ready"]["responses"]["503"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/HealthReport"
    }


def test_pages_link_to_the_product_operations(document: dict[str, Any]) -> None:
    """Lists and search link their first item to get and update; a read links to a conditional write."""
    operations = _operations(document)
    for name in ("listProducts", "searchProducts"):
        links = operations[name]["responses"]["200"]["links"]
        assert {link["operationId"] for link in links.values()} == {"getProduct", "updateProduct"}
    update = operations["getProduct"]["responses"]["200"]["links"]["updateProduct"]
    assert update["parameters"]["header.If-Match"] == "$response.header.ETag"


_PIECES = st.sampled_from([" ", "\t", ",", "*", "W/", '"', "7", "a", "\x80", "\x7f", "\x22", "w/"])


@given(st.lists(_PIECES, max_size=12).map("".join))
def test_the_documented_entity_tag_pattern_is_what_the_server_reads(header: str) -> None:
    """A header matches the schema's pattern exactly when the server accepts it, so fuzzers agree with it."""
    try:
        matches_none(header, 7)
        accepted = True
    except InvalidInput:
        accepted = False
    assert (re.fullmatch(ENTITY_TAGS, header) is not None) == accepted, repr(header)
