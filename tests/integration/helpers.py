"""Assertions shared by the HTTP tests."""

from __future__ import annotations

import re
from typing import Any

import httpx

INTERNAL_TEXT = re.compile(r"`|regex|Expected|KeyError|\bint \||\bstr\b|\$\[")
"""Marks of a library's or Python's own message: never part of what a client is told."""


def assert_problem(response: httpx.Response, status: int, *fields: str) -> dict[str, Any]:
    """Check an RFC 9457 problem response: status, media type, request id, named fields, no internals."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["title"] and body["detail"] and body["type"]
    assert body["request_id"] == response.headers["x-request-id"]
    assert "Traceback" not in response.text and "psycopg" not in response.text
    for text in [body["detail"], *(e["message"] for e in body.get("errors", ()))]:
        assert not INTERNAL_TEXT.search(text), text
    if fields:
        assert {e["field"] for e in body["errors"]} >= set(fields), body
    return body
