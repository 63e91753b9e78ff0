"""The access log writes one line per request, text or JSON, escaping what a client put in the path."""

from __future__ import annotations

import io
import json
import time

from entrypoints.http.access_log import AccessLog


def _entry(path: str = "/products/7", query: bytes = b"", status: int = 200) -> tuple:  # type: ignore[type-arg]
    return (time.perf_counter(), "203.0.113.9", "GET", path, query, status, 0.000412, "rid-1")


def test_text_lines_name_client_request_status_duration_and_request_id() -> None:
    """A text line: time, client, quoted request line, status, milliseconds, request id."""
    stream = io.StringIO()
    log = AccessLog(stream=stream)
    log.record(_entry(query=b"x=1"))
    log.flush()
    line = stream.getvalue()
    assert line.endswith('Z 203.0.113.9 "GET /products/7?x=1" 200 0.41ms request_id=rid-1\n')
    assert line[:4].isdigit() and line[10] == "T"


def test_control_characters_and_quotes_in_a_path_cannot_forge_lines() -> None:
    """A decoded path with a newline or a quote stays on one line, escaped."""
    stream = io.StringIO()
    log = AccessLog(stream=stream)
    log.record(_entry(path='/x"\n1.2.3.4 "GET /admin" 200'))
    log.flush()
    lines = stream.getvalue().splitlines()
    assert len(lines) == 1
    assert '"GET /x\\"\\x0a1.2.3.4 \\"GET /admin\\" 200"' in lines[0]


def test_json_lines_are_one_object_each() -> None:
    """``PRODUCTCORE_LOG_FORMAT=json``: one JSON object per line with every field."""
    stream = io.StringIO()
    log = AccessLog(stream=stream, log_format="json")
    log.record(_entry(status=404))
    log.record(_entry(path="/products/\n"))
    log.flush()
    records = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert len(records) == 2
    assert records[0] | {"time": None} == {
        "time": None,
        "level": "info",
        "logger": "productcore.access",
        "request_id": "rid-1",
        "client": "203.0.113.9",
        "method": "GET",
        "path": "/products/7",
        "query": "",
        "status": 404,
        "duration_ms": 0.412,
    }
    assert records[1]["path"] == "/products/\n"


def test_the_writer_thread_writes_what_requests_queued_and_close_writes_the_rest() -> None:
    """Entries reach the stream from the thread, and nothing pending is lost at close."""
    stream = io.StringIO()
    log = AccessLog(stream=stream, interval=0.01)
    log.start()
    log.record(_entry())
    deadline = time.monotonic() + 5
    while not stream.getvalue() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert stream.getvalue().count("\n") == 1
    log.record(_entry())
    log.close()
    assert stream.getvalue().count("\n") == 2
