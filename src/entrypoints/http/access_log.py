"""The access log: one line per request, formatted and written by a thread, off the event loop.

A request only appends a tuple to a deque; every ``interval`` seconds a writer thread formats what
accumulated (text, or one JSON object per line) and writes it in one call.
"""

from __future__ import annotations

import sys
import threading
import time
from collections import deque
from typing import Literal, TextIO

import msgspec

LogFormat = Literal["text", "json"]

# Control characters (a decoded path may hold a newline) are escaped in text lines.
_ESCAPES = {c: f"\\x{c:02x}" for c in (*range(32), 127)} | {ord('"'): '\\"'}


AccessEntry = tuple[float, str, str, str, bytes, int, float, str]
"""One request: when it arrived (``time.perf_counter``), the client's address, method, path, raw query,
status, seconds taken, request id. A plain tuple: it is built on the event loop for every request."""

_second: list[object] = [None, ""]


def _timestamp(epoch: float) -> str:
    """ISO 8601 in UTC with milliseconds (the date and time formatted once per second)."""
    whole = int(epoch)
    if _second[0] != whole:
        _second[:] = [whole, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole))]
    return f"{_second[1]}.{int((epoch - whole) * 1000):03d}Z"


def _target(path: str, query: bytes) -> str:
    target = f"{path}?{query.decode('latin-1')}" if query else path
    return target if target.isprintable() and '"' not in target else target.translate(_ESCAPES)


def _text_lines(entries: list[AccessEntry], offset: float) -> str:
    return "".join(
        f'{_timestamp(arrived + offset)} {client} "{method} {_target(path, query)}" {status} '
        f"{seconds * 1000:.2f}ms request_id={rid}\n"
        for arrived, client, method, path, query, status, seconds, rid in entries
    )


class _JsonEntry(msgspec.Struct):
    """One JSON access-log line (fields in this order)."""

    time: str
    level: str
    logger: str
    request_id: str
    client: str
    method: str
    path: str
    query: str
    status: int
    duration_ms: float


_json = msgspec.json.Encoder()


def _json_lines(entries: list[AccessEntry], offset: float) -> str:
    records = [
        _JsonEntry(
            _timestamp(arrived + offset),
            "info",
            "productcore.access",
            rid,
            client,
            method,
            path,
            query.decode("latin-1"),
            status,
            round(seconds * 1000, 3),
        )
        for arrived, client, method, path, query, status, seconds, rid in entries
    ]
    return _json.encode_lines(records).decode()


class AccessLog:
    """Collects access entries and writes them from a thread of its own.

    Args:
        stream: Where lines go (standard error by default, like the server's own log).
        log_format: ``text`` or ``json`` (one object per line).
        interval: Seconds between writes; what is pending is written at close too.
    """

    def __init__(
        self, stream: TextIO | None = None, log_format: LogFormat = "text", interval: float = 0.05
    ) -> None:
        self._stream = stream
        self._format = _json_lines if log_format == "json" else _text_lines
        self._interval = interval
        self._pending: deque[AccessEntry] = deque()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def record(self, entry: AccessEntry) -> None:
        """Queue one request's entry (cheap enough for the event loop)."""
        self._pending.append(entry)

    def start(self) -> None:
        """Start the writer thread."""
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="productcore-access-log", daemon=True)
            self._thread.start()

    def close(self) -> None:
        """Stop the writer thread after it has written everything pending."""
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
            self._thread = None
        self.flush()

    def flush(self) -> None:
        """Format and write every pending entry now."""
        pending = self._pending
        entries = [pending.popleft() for _ in range(len(pending))]
        if entries:
            stream = self._stream or sys.stderr
            stream.write(self._format(entries, time.time() - time.perf_counter()))
            stream.flush()

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self.flush()
