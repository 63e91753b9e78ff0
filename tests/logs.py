"""Capture every log record the process emits, to check what reaches the logs."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager


class _Keep(logging.Handler):
    def __init__(self, records: list[logging.LogRecord]) -> None:
        super().__init__(logging.DEBUG)
        self.records = records

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextmanager
def captured_logs() -> Iterator[list[logging.LogRecord]]:
    """Collect records of every level from the root logger (attach after the app is built:
    building a Litestar app reconfigures logging)."""
    records: list[logging.LogRecord] = []
    root = logging.getLogger()
    handler, level = _Keep(records), root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield records
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def rendered(records: list[logging.LogRecord]) -> str:
    """Everything the records would print: messages, arguments, tracebacks and stack info."""
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    return "\n".join(
        f"{formatter.format(r)} {r.args!r} {r.stack_info or ''} {r.exc_text or ''}" for r in records
    )
