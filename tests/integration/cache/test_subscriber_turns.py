"""The invalidation subscriber's liveness PING never costs it a turn of the event loop."""

from __future__ import annotations

import asyncio
import uuid

from adapters.redis import open_redis
from adapters.redis.client import subscription_client


async def test_a_ping_on_the_subscription_does_not_yield_to_the_loop(redis_url: str) -> None:
    """Sending the subscriber's PING runs no other task meanwhile: with a socket timeout, redis-py
    sends through ``asyncio.wait_for``, a task of its own on Python 3.11, and on a busy loop each
    PING kept the subscriber from reading invalidations for two turns (up to 0.9 s measured)."""
    turns = 0

    async def ticker() -> None:
        nonlocal turns
        while True:
            turns += 1
            await asyncio.sleep(0)

    async with open_redis(redis_url) as client:  # the service's client: socket timeout 0.25 s
        channel = f"test-turns:{uuid.uuid4().hex}"
        subscription = await subscription_client(client, channel)
        try:
            async with subscription.pubsub() as pubsub:
                await pubsub.subscribe(channel)
                ticking = asyncio.create_task(ticker())
                await asyncio.sleep(0)
                during = []
                for _ in range(20):
                    before = turns
                    await pubsub.ping()
                    during.append(turns - before)
                ticking.cancel()
        finally:
            await subscription.aclose(close_connection_pool=True)
    print(f"\nother tasks' turns during each subscriber PING: {sorted(set(during))}")
    assert during == [0] * 20
