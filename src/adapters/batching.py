"""Group commit: the calls of a moment go out together, as one call (a Redis script, a statement).

A redis-py command costs more CPU than serving a cached product, so the hot paths do not each make
one. Callers join the batch being gathered (one entry per key, each holding its callers' futures);
at most one batch is in flight, and batches leave at most every ``interval`` seconds. Under light
load a call goes out at once, alone; under heavy load one round trip serves every call of the
interval, so the cost stops growing with the load.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any, Generic, Protocol, TypeVar


class Entry(Protocol):
    """What a batch holds per key: at least the futures of the callers waiting on it."""

    waiters: list[asyncio.Future[Any]]


E = TypeVar("E", bound=Entry)


class GroupCommit(Generic[E]):
    """Gathers entries by key and sends them with ``run``, one batch at a time.

    ``run`` resolves the waiters of the entries it is given; if it raises, every waiter of its batch
    gets the exception.

    Args:
        run: Sends one batch (entries by key, in arrival order).
        interval: Least time between two batches, in seconds (0: send as soon as the last answered).
        max_batch: Most entries in one batch; the rest wait for the next.
    """

    def __init__(
        self, run: Callable[[dict[str, E]], Awaitable[None]], *, interval: float = 0.0, max_batch: int = 256
    ) -> None:
        self._run = run
        self._interval = interval
        self._max_batch = max_batch
        self._gathering: dict[str, E] = {}
        self._in_flight: asyncio.Future[None] | None = None
        self._scheduled = False
        self._last_sent = 0.0
        self.batches_sent = 0
        """Batches sent so far."""

    def entry(self, key: str, new: Callable[[], E]) -> E:
        """The entry of ``key`` in the batch being gathered (made with ``new`` if there is none)."""
        entry = self._gathering.get(key)
        if entry is None:
            entry = self._gathering[key] = new()
            if not self._scheduled and self._in_flight is None:
                self._schedule(asyncio.get_running_loop())
        return entry

    def _schedule(self, loop: asyncio.AbstractEventLoop) -> None:
        """Send after this loop iteration, or once ``interval`` has passed since the last batch."""
        self._scheduled = True
        due = self._last_sent + self._interval
        if loop.time() >= due:
            loop.call_soon(self._send)
        else:
            loop.call_at(due, self._send)

    def _send(self) -> None:
        self._scheduled = False
        if self._in_flight is not None or not self._gathering:
            return
        keys = list(self._gathering)[: self._max_batch]
        batch = {key: self._gathering.pop(key) for key in keys}
        self._last_sent = asyncio.get_running_loop().time()
        self.batches_sent += 1
        self._in_flight = asyncio.ensure_future(self._sent(batch))
        self._in_flight.add_done_callback(self._landed)

    async def _sent(self, batch: dict[str, E]) -> None:
        try:
            await self._run(batch)
        except BaseException as error:
            failure = error if isinstance(error, Exception) else ConnectionError("the batch was cancelled")
            for entry in batch.values():
                for waiter in entry.waiters:
                    if not waiter.done():
                        waiter.set_exception(failure)
            if not isinstance(error, Exception):
                raise

    def _landed(self, _: asyncio.Future[None]) -> None:
        self._in_flight = None
        if self._gathering and not self._scheduled:
            self._schedule(asyncio.get_running_loop())

    async def aclose(self) -> None:
        """Wait for the batch in flight, if any."""
        if self._in_flight is not None:
            with contextlib.suppress(Exception):
                await self._in_flight
