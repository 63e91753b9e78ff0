"""The circuit breaker in front of Redis and PostgreSQL."""

from __future__ import annotations

import pytest

from adapters.breaker import CircuitBreaker


class Clock:
    """A settable monotonic clock."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_it_opens_after_consecutive_failures_and_probes_after_the_reset_time() -> None:
    """Closed -> open after 3 failures -> one probe after the reset -> closed on success."""
    clock = Clock()
    breaker = CircuitBreaker(failures=3, reset_after=2.0, clock=clock)
    for _ in range(2):
        assert breaker.allow()
        breaker.failure()
    assert breaker.state == "closed"
    breaker.failure()
    assert breaker.state == "open"
    assert not breaker.allow()
    clock.now = 2.0
    assert breaker.allow()
    assert not breaker.allow(), "only one probe at a time"
    breaker.success()
    assert breaker.state == "closed"
    assert breaker.allow()


def test_a_failed_probe_opens_it_again() -> None:
    """Half-open and the probe fails: open for another reset period."""
    clock = Clock()
    breaker = CircuitBreaker(failures=1, reset_after=1.0, clock=clock)
    breaker.failure()
    clock.now = 1.0
    assert breaker.allow()
    breaker.failure()
    assert breaker.state == "open"
    clock.now = 1.5
    assert not breaker.allow()
    assert breaker.opened == 2


def test_a_success_resets_the_failure_count() -> None:
    """Failures must be consecutive to open it."""
    breaker = CircuitBreaker(failures=2)
    breaker.failure()
    breaker.success()
    breaker.failure()
    assert breaker.state == "closed"


def test_an_abandoned_probe_lets_the_next_call_probe() -> None:
    """A cancelled probe proves nothing: the breaker stays open, and the next call may probe."""
    clock = Clock()
    breaker = CircuitBreaker(failures=1, reset_after=1.0, clock=clock)
    breaker.failure()
    clock.now = 1.0
    assert breaker.allow()
    assert not breaker.allow()
    breaker.abandon()
    assert breaker.state == "half-open"
    assert breaker.allow()
    breaker.success()
    assert breaker.state == "closed"


def test_watching_records_failures_successes_and_neither() -> None:
    """A listed failure counts, a normal end closes, anything else frees the probe without a verdict."""
    clock = Clock()
    breaker = CircuitBreaker(failures=1, reset_after=1.0, clock=clock)
    with pytest.raises(OSError, match="down"), breaker.watching((OSError,)):
        raise OSError("down")
    assert breaker.state == "open"
    clock.now = 1.0
    assert breaker.allow()
    with pytest.raises(KeyError), breaker.watching((OSError,)):
        raise KeyError("a bug")
    assert breaker.state == "half-open" and breaker.allow()
    with breaker.watching((OSError,)):
        pass
    assert breaker.state == "closed"
