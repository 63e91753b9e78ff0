"""The Redis invalidation feed: what the subscriber hears from a real channel."""

from __future__ import annotations

import asyncio
import uuid

from redis.asyncio import RedisCluster

from adapters.redis import RedisInvalidationFeed, open_redis
from adapters.redis.messages import encode_message
from productcore.caching import Broadcast, Invalidation, Subscribed


async def test_the_feed_hears_its_subscription_then_every_message_in_order(redis_url: str) -> None:
    """``Subscribed`` first; then each PUBLISH as a broadcast, a malformed one as an empty broadcast
    (logged, never applied), and the feed's own client closed at the end. On a cluster the feed
    subscribes sharded, so messages are sent with SPUBLISH, as the bus sends them there."""
    channel = f"test-feed:{uuid.uuid4().hex}"
    async with open_redis(redis_url) as client:
        feed = RedisInvalidationFeed(client, channel, ping_interval=0.2)
        events = feed.listen()
        publish = client.spublish if isinstance(client, RedisCluster) else client.publish
        try:
            async with asyncio.timeout(5):
                assert isinstance(await anext(events), Subscribed)
                await publish(channel, b"not an invalidation")
                await publish(channel, encode_message([Invalidation(3, 7)], flush=True))
                heard = [await anext(events), await anext(events)]
        finally:
            await events.aclose()
            await feed.close()
    assert heard == [Broadcast(), Broadcast((Invalidation(3, 7),), flush=True)]
