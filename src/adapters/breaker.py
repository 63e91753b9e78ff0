"""A small circuit breaker, so that requests skip a failing server (Redis, PostgreSQL) instead of each
waiting on it."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager


class CircuitBreaker:
    """Opens after ``failures`` consecutive failures; after ``reset_after`` seconds lets one probe through.

    Closed: every call goes ahead. Open: calls are refused at once. Half-open: one probe goes
    ahead; its success closes the breaker, its failure opens it again.
    """

    def __init__(
        self, failures: int = 3, reset_after: float = 2.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._threshold = failures
        self._reset_after = reset_after
        self._clock = clock
        self._failures = 0
        self._opened_at: float | None = None
        self._probing = False
        self.opened = 0

    @property
    def state(self) -> str:
        """``closed``, ``open`` or ``half-open``."""
        if self._opened_at is None:
            return "closed"
        if self._probing or self._clock() >= self._opened_at + self._reset_after:
            return "half-open"
        return "open"

    def allow(self) -> bool:
        """Whether a call may go ahead now (in half-open state, only the one probe may)."""
        if self._opened_at is None:
            return True
        if self._probing or self._clock() < self._opened_at + self._reset_after:
            return False
        self._probing = True
        return True

    def success(self) -> None:
        """Record a call that worked: close the breaker."""
        self._failures = 0
        self._opened_at = None
        self._probing = False

    def failure(self) -> None:
        """Record a call that failed: open after enough of them, or at once after a failed probe."""
        self._failures += 1
        if self._probing or self._failures >= self._threshold:
            if self._opened_at is None or self._probing:
                self.opened += 1
            self._opened_at = self._clock()
            self._probing = False

    def abandon(self) -> None:
        """Record a call that ended without saying whether the server works (it was cancelled).

        Counts as neither success nor failure; if it was the half-open probe, the next call may probe.
        """
        self._probing = False

    @contextmanager
    def watching(self, failures: tuple[type[BaseException], ...]) -> Iterator[None]:
        """Record how the call made inside ends: one of ``failures`` counts against the server, a
        normal end for it, and anything else (a cancellation, a bug) as neither (``abandon``)."""
        try:
            yield
        except failures:
            self.failure()
            raise
        except BaseException:
            self.abandon()
            raise
        self.success()
