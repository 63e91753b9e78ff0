"""Budgets decided in batches in Redis stay exact and global: two instances never let more through."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

import pytest
from limits.storage import storage_from_string

from adapters.ratelimit import STRATEGIES as STRATEGY_CLASSES
from adapters.ratelimit import Limiter, Policy, Strategy, open_limiter
from adapters.redis.budgets import BatchedBudgets, Verdict
from adapters.redis.cluster import client_from_url

STRATEGIES: list[Strategy] = ["sliding-window-counter", "moving-window"]


@asynccontextmanager
async def instances(redis_url: str, strategy: Strategy, count: int = 2) -> AsyncIterator[list[Limiter]]:
    """``count`` limiters, each with its own Redis connection (as separate processes have), one key space."""
    prefix = f"test-budgets-{uuid.uuid4().hex[:12]}"
    async with AsyncExitStack() as stack:
        yield [
            await stack.enter_async_context(open_limiter(redis_url, strategy=strategy, key_prefix=prefix))
            for _ in range(count)
        ]


@pytest.mark.parametrize("strategy", STRATEGIES)
async def test_sequential_requests_split_over_two_instances_never_exceed_the_budget(
    redis_url: str, strategy: Strategy
) -> None:
    """Alternating instances, exactly ``quota`` requests pass, with ``remaining`` counting down by one."""
    policy = Policy.parse("read", "30/minute")
    async with instances(redis_url, strategy) as (a, b):
        verdicts = [await (a if n % 2 else b).hit(policy, "addr:one") for n in range(40)]
    assert [v.allowed for v in verdicts] == [True] * 30 + [False] * 10
    assert [v.remaining for v in verdicts[:30]] == list(range(29, -1, -1))
    assert all(v.remaining == 0 and 1 <= v.reset_after <= 60 for v in verdicts[30:])


@pytest.mark.parametrize("strategy", STRATEGIES)
async def test_concurrent_requests_on_two_instances_let_exactly_the_budget_through(
    redis_url: str, strategy: Strategy
) -> None:
    """1,000 requests at once over two instances, one identity, budget 300: never more than 300 pass,
    and at most each instance's unused lease (1% of the budget) fewer."""
    policy = Policy.parse("read", "300/minute")
    async with instances(redis_url, strategy) as (a, b):
        verdicts = await asyncio.gather(
            *(a.hit(policy, "key:hot") for _ in range(500)), *(b.hit(policy, "key:hot") for _ in range(500))
        )
    allowed = sum(v.allowed for v in verdicts)
    assert 300 - 2 * 3 <= allowed <= 300
    remaining = [v.remaining for v in verdicts if v.allowed]
    assert len(set(remaining)) >= allowed - 2 * 3, "each allowed request sees its own place in the budget"


async def test_identities_and_policies_in_one_batch_are_decided_apart(redis_url: str) -> None:
    """Decisions for many identities and both budgets, gathered into batches, each count on their own."""
    read, write = Policy.parse("read", "5/minute"), Policy.parse("write", "2/minute")
    async with instances(redis_url, "sliding-window-counter", count=1) as (limiter,):
        calls = [
            limiter.hit(policy, f"addr:{n}") for n in range(50) for policy in (read, write) for _ in range(6)
        ]
        verdicts = await asyncio.gather(*calls)
    by_budget: dict[tuple[str, int], int] = {}
    for index, verdict in enumerate(verdicts):
        identity, policy = divmod(index // 6, 2)
        by_budget[(("read", "write")[policy], identity)] = (
            by_budget.get((("read", "write")[policy], identity), 0) + verdict.allowed
        )
    assert {k: v for k, v in by_budget.items() if k[0] == "read"} == {("read", n): 5 for n in range(50)}
    assert {k: v for k, v in by_budget.items() if k[0] == "write"} == {("write", n): 2 for n in range(50)}


async def test_a_budget_has_room_again_after_its_window(redis_url: str) -> None:
    """A spent one-second budget refuses, says when it has room, and has room again once that time is past."""
    policy = Policy.parse("read", "3/second")
    async with instances(redis_url, "sliding-window-counter", count=1) as (limiter,):
        spent = [await limiter.hit(policy, "addr:slow") for _ in range(4)]
        assert [v.allowed for v in spent] == [True, True, True, False]
        await asyncio.sleep(spent[-1].reset_after + 1.0)
        assert (await limiter.hit(policy, "addr:slow")).allowed


async def test_a_batch_holds_the_decisions_of_a_moment(redis_url: str) -> None:
    """Hundreds of concurrent decisions take a handful of Redis round trips, not one each."""
    policy = Policy.parse("read", "100000/minute")
    async with instances(redis_url, "sliding-window-counter", count=1) as (limiter,):
        budgets = limiter.shared
        assert budgets is not None
        before = budgets.batches_sent
        await asyncio.gather(*(limiter.hit(policy, f"addr:{n % 7}") for n in range(600)))
        sent = budgets.batches_sent - before
    assert 1 <= sent <= 10, f"{sent} round trips for 600 decisions"


@pytest.mark.parametrize("strategy", STRATEGIES)
async def test_leases_spare_round_trips_and_never_exceed_the_budget(
    redis_url: str, strategy: Strategy
) -> None:
    """A budget of 1,000 leases 10 requests at a time: alternating instances, 1,100 requests take about
    a tenth of the round trips; never more than 1,000 pass, at most the two leases' 20 fewer."""
    policy = Policy.parse("read", "1000/minute")
    async with instances(redis_url, strategy) as (a, b):
        verdicts = [await (a if n % 2 else b).hit(policy, "key:big") for n in range(1_100)]
        trips = sum(limiter.shared.batches_sent for limiter in (a, b) if limiter.shared is not None)
    allowed = sum(v.allowed for v in verdicts)
    assert 1_000 - 2 * 10 <= allowed <= 1_000
    assert verdicts[-1].allowed is False
    assert trips <= 1_100 / 5, f"{trips} round trips"
    assert all(v.remaining >= 0 for v in verdicts)
    assert [v.remaining for v in verdicts[:20:2]] == sorted(
        (v.remaining for v in verdicts[:20:2]), reverse=True
    )


@pytest.mark.parametrize("strategy", STRATEGIES)
async def test_a_client_slower_than_a_lease_lives_spends_one_request_per_request(
    redis_url: str, strategy: Strategy
) -> None:
    """Each request of a client that comes after its lease expired takes a fresh lease; the expired
    one's unused requests are given back, so 40 such requests spend 40 of the budget plus at most the
    lease still held (before: 40 leases of 10, and the client was refused after 90 requests of 1,000)."""
    policy = Policy.parse("read", "1000/minute")
    prefix = f"test-budgets-{uuid.uuid4().hex[:12]}"
    client = client_from_url(redis_url)
    try:
        budgets = BatchedBudgets(client, prefix, strategy, lease_seconds=0.02)
        limiter = Limiter(budgets, STRATEGY_CLASSES[strategy](storage_from_string("async+memory://")))
        verdicts = []
        for _ in range(40):
            verdicts.append(await limiter.hit(policy, "addr:slow"))
            await asyncio.sleep(0.03)
        other = BatchedBudgets(client, prefix, strategy, lease_divisor=0)
        seen = await other.decide(policy.name, policy.quota, policy.window, "addr:slow")
    finally:
        await client.aclose()
    assert all(v.allowed for v in verdicts)
    assert isinstance(seen, Verdict)
    # Another process sees what was spent: the 40 requests, its own, and the lease still held.
    assert seen.remaining >= 1000 - 40 - 1 - 10, seen
