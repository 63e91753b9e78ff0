"""The limiter counts per identity and per policy, and fails open when its shared store is unreachable."""

from __future__ import annotations

import logging
import socket
import uuid

import pytest
from prometheus_client import REGISTRY

from adapters.ratelimit import Policy, open_limiter

READ = Policy.parse("read", "3/minute")
WRITE = Policy.parse("write", "2/minute")


@pytest.mark.parametrize("strategy", ["sliding-window-counter", "moving-window"])
async def test_a_budget_is_spent_then_refused(strategy: str) -> None:
    """``quota`` hits pass with falling ``remaining``; the next is refused with time to wait."""
    async with open_limiter(None, strategy=strategy) as limiter:  # type: ignore[arg-type]
        verdicts = [await limiter.hit(READ, "addr:a") for _ in range(4)]
    assert [v.allowed for v in verdicts] == [True, True, True, False]
    assert [v.remaining for v in verdicts] == [2, 1, 0, 0]
    assert all(0 < v.reset_after <= 60 for v in verdicts)


async def test_identities_and_policies_have_separate_budgets() -> None:
    """Spending one identity's read budget leaves its write budget and other identities alone."""
    async with open_limiter(None) as limiter:
        for _ in range(3):
            await limiter.hit(READ, "key:a")
        assert not (await limiter.hit(READ, "key:a")).allowed
        assert (await limiter.hit(WRITE, "key:a")).remaining == 1
        assert (await limiter.hit(READ, "key:b")).remaining == 2


def test_policies_describe_quota_and_window() -> None:
    """A policy reads ``limits`` notation into a quota and a window in seconds."""
    assert (READ.quota, READ.window) == (3, 60)
    assert (Policy.parse("read", "10/hour").window, Policy.parse("read", "5 per second").quota) == (3600, 5)
    with pytest.raises(ValueError, match="couldn't parse"):
        Policy.parse("read", "often")


async def test_an_unreachable_store_fails_open_once_logged_and_counted(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """With nothing listening at the Redis URL, decisions are local, counted, and logged once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    fallbacks = REGISTRY.get_sample_value("productcore_rate_limit_fallback_decisions_total") or 0.0
    caplog.set_level(logging.WARNING, logger="productcore.ratelimit")
    async with open_limiter(f"redis://127.0.0.1:{port}/0", key_prefix=uuid.uuid4().hex) as limiter:
        verdicts = [await limiter.hit(READ, "addr:a") for _ in range(4)]
        assert limiter.degraded
    assert [v.allowed for v in verdicts] == [True, True, True, False]
    assert REGISTRY.get_sample_value("productcore_rate_limit_fallback_decisions_total") == fallbacks + 4
    assert REGISTRY.get_sample_value("productcore_rate_limit_degraded") == 1
    warnings = [r for r in caplog.records if r.name == "productcore.ratelimit"]
    assert len(warnings) == 1
    assert "ConnectionError" in warnings[0].getMessage()
