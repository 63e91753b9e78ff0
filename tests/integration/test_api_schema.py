"""Schemathesis drives the running app from its own OpenAPI schema: no 5xx, conforming responses."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import msgspec
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import (
    missing_required_header,
    negative_data_rejection,
    positive_data_acceptance,
)

from entrypoints.apikeys import ApiKey
from entrypoints.http import create_app
from entrypoints.settings import Settings
from tests.integration.conftest import NewProduct
from tests.integration.live import live_server

MAX_EXAMPLES = 50
"""Examples per operation and generation mode: enough to find schema drift, few enough for CI."""

OPERATIONS = {
    "listProducts": (GenerationMode.POSITIVE, GenerationMode.NEGATIVE),
    "searchProducts": (GenerationMode.POSITIVE, GenerationMode.NEGATIVE),
    "getProduct": (GenerationMode.POSITIVE, GenerationMode.NEGATIVE),
    "updateProduct": (GenerationMode.POSITIVE, GenerationMode.NEGATIVE),
    "live": (GenerationMode.POSITIVE,),
    "ready": (GenerationMode.POSITIVE,),
}
"""Every operation of the schema, and the modes it has inputs for (probes take none to break)."""

examples: Counter[str] = Counter()


class _ExampleCount:
    """Print how many requests schemathesis made, per operation, in the terminal summary."""

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        total = sum(examples.values())
        detail = ", ".join(f"{name} {count}" for name, count in sorted(examples.items()))
        terminalreporter.write_line(f"schemathesis: {total} examples ({detail})")


@pytest.fixture(name="api_schema", scope="module")
def _api_schema(
    request: pytest.FixtureRequest, settings: Settings, redis_url: str
) -> Iterator[schemathesis.BaseSchema]:
    """The schema the live app serves at /docs/openapi.json, with the app running behind it."""
    if not request.config.pluginmanager.has_plugin("schemathesis-example-count"):
        request.config.pluginmanager.register(_ExampleCount(), "schemathesis-example-count")
    fuzzed = msgspec.structs.replace(
        settings, redis_url=redis_url, rate_limit_key_prefix=f"test-{uuid.uuid4().hex[:12]}"
    )
    with live_server(create_app(fuzzed)) as url:
        yield schemathesis.openapi.from_url(f"{url}/docs/openapi.json", config=CONFIG)


CONFIG = schemathesis.Config.from_dict(
    {
        "checks": {
            # Refusing invalid input for its size (413, 414, 431) is refusing it too.
            "negative_data_rejection": {
                "expected-statuses": [400, 401, 403, 404, 406, 413, 414, 422, 428, 431]
            },
            # A precondition that does not hold (If-Match naming another version) is valid input too.
            "positive_data_acceptance": {
                "expected-statuses": ["2xx", "3xx", 401, 403, 404, 409, 412, 429, "5xx"]
            },
        }
    }
)


def refused_field(case: schemathesis.Case) -> str | None:
    """The field a request that fits the schema is still refused for, by a rule OpenAPI cannot state.

    A cursor is opaque: only one the service issued is valid. A search needs at least one
    criterion, and ``min_price`` must not exceed ``max_price``. A stock must be written as a JSON
    integer, where JSON Schema also counts ``5.0`` as an integer.
    """
    query = case.query or {}
    if query.get("cursor") is not None:
        return "cursor"
    if isinstance(case.body, dict) and isinstance(case.body.get("stock"), float):
        return "stock"
    if case.operation.definition.raw["operationId"] != "searchProducts":
        return None
    low, high = query.get("min_price"), query.get("max_price")
    if query.get("name") is None and low is None and high is None:
        return "name"
    if low is not None and high is not None and Decimal(low) > Decimal(high):
        return "min_price"
    return None


def test_every_operation_is_fuzzed(api_schema: schemathesis.BaseSchema) -> None:
    """The fuzzed operations are exactly those the schema lists, so a new one cannot slip by."""
    listed = {result.ok().definition.raw["operationId"] for result in api_schema.get_all_operations()}
    assert listed == set(OPERATIONS)


@pytest.mark.parametrize(
    ("operation_id", "mode"), [(op, mode) for op, modes in OPERATIONS.items() for mode in modes]
)
def test_the_api_keeps_its_schema(
    api_schema: Any, write_key: tuple[str, ApiKey], operation_id: str, mode: GenerationMode
) -> None:
    """No 5xx, responses match the schema (status, headers, body), and every error is problem+json."""
    operation = api_schema.find_operation_by_id(operation_id)
    auth = {"Authorization": f"Bearer {write_key[0]}"}

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
    def call(case: schemathesis.Case) -> None:
        examples[f"{operation_id}/{mode.value}"] += 1
        refused = refused_field(case) if mode is GenerationMode.POSITIVE else None
        excluded = [positive_data_acceptance] if refused else []
        response = case.call_and_validate(headers=auth, excluded_checks=excluded)
        if refused:
            assert response.status_code == 400, response.text
            assert refused in {error["field"] for error in response.json()["errors"]}
        if response.status_code >= 400:
            assert response.headers["content-type"] == ["application/problem+json"], response.text
            assert response.json()["request_id"] == response.headers["x-request-id"][0]

    call()


async def test_linked_operations_keep_the_schema(
    api_schema: schemathesis.BaseSchema, write_key: tuple[str, ApiKey], new_product: NewProduct
) -> None:
    """Schemathesis follows the links (page to product; an ETag into If-Match / If-None-Match): no failure."""
    for _ in range(5):
        await new_product()
    auth = {"Authorization": f"Bearer {write_key[0]}"}
    taken: Counter[tuple[str, tuple[str, ...], int]] = Counter()

    class Linked(api_schema.as_state_machine()):  # type: ignore[misc]
        def get_call_kwargs(self, case: schemathesis.Case) -> dict[str, Any]:
            return {"headers": auth}

        def validate_response(
            self, response: Any, case: schemathesis.Case, additional_checks: Any = None, **kwargs: Any
        ) -> None:
            # Links and the key put back what a negative case broke (a body, Authorization), so
            # whether negative data is refused is left to the stateless test above.
            excluded = [negative_data_rejection, missing_required_header]
            positive = case.meta is not None and case.meta.generation.mode is GenerationMode.POSITIVE
            if positive and refused_field(case):
                excluded.append(positive_data_acceptance)
            case.validate_response(
                response,
                additional_checks=additional_checks,
                excluded_checks=excluded,
                transport_kwargs=kwargs or None,
            )

        def step(self, input: Any) -> Any:
            output = super().step(input)
            if input.transition is not None:
                applied = tuple(sorted(name or "" for _, name in input.applied_parameters))
                taken[(input.transition.id.split(" -> ")[1], applied, output.response.status_code)] += 1
            return output

    Linked.run(
        settings=settings(
            max_examples=60,
            stateful_step_count=6,
            deadline=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        )
    )
    assert taken[("[200] getProduct", ("product_id",), 200)] > 0, taken
    conditional = {applied for _, applied, _ in taken} & {
        ("If-None-Match", "product_id"),
        ("If-Match", "product_id"),
    }
    assert conditional, taken
