"""The access log: one line per request, formatted and written by a thread, off the event loop.

A request only appends a tuple to a deque (tens of nanoseconds); every ``interval`` seconds a writer
thread formats what accumulated (text, or one JSON object per line) and writes it in one call.
"""

from __future__ import annotations

import sys
import threading
import time
from collections import deque
from typing import Literal, NamedTuple, TextIO

import msgspec

LogFormat = Literal["text", "json"]

# Control characters (a decoded path may hold a newline) are escaped in text lines.
_ESCAPES = {c: f"\\x{c:02x}" for c in (*range(32), 127)} | {ord('"'): '\\"'}


class AccessEntry(NamedTuple):
    """What is logged of one request."""

    time: float
    client: str
    method: str
    path: str
    query: str
    status: int
    duration_ms: float
    request_id: str


_second: list[object] = [None, ""]


def _timestamp(epoch: float) -> str:
    """ISO 8601 in UTC with milliseconds (the date and time formatted once per second)."""
    whole = int(epoch)
    if _second[0] != whole:
        _second[:] = [whole, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole))]
    return f"{_second[1]}.{int(epoch % 1 * 1000):03d}Z"


def _text(entry: AccessEntry) -> str:
    target = entry.path + ("?" + entry.query if entry.query else "")
    return (
        f'{_timestamp(entry.time)} {entry.client} "{entry.method} {target.translate(_ESCAPES)}" '
        f"{entry.status} {entry.duration_ms:.2f}ms request_id={entry.request_id}\n"
    )


_json = msgspec.json.Encoder()


def _json_line(entry: AccessEntry) -> str:
    record = {"time": _timestamp(entry.time), "level": "info", "logger": "productcore.access"}
    return _json.encode({**record, **entry._asdict()}).decode() + "\n"


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
        self._format = _json_line if log_format == "json" else _text
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
        lines = []
        pending = self._pending
        while pending:
            lines.append(self._format(pending.popleft()))
        if lines:
            stream = self._stream or sys.stderr
            stream.write("".join(lines))
            stream.flush()

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self.flush()
