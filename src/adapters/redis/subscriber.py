"""The invalidation channel as an ``InvalidationFeed``: SUBSCRIBE, liveness pings, message parsing."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncGenerator
from typing import Any

import msgspec
from redis.asyncio import Redis, RedisCluster

from adapters.redis.cache import FAILURES
from adapters.redis.client import subscription_client
from adapters.redis.cluster import AnyRedis
from adapters.redis.messages import decode_message
from productcore.caching import Broadcast, Subscribed
from productcore.ports import ConnectionLost

log = logging.getLogger(__name__)


class _Silent(Exception):
    """The server stopped answering pings on the subscription."""


class _Moved(Exception):
    """The cluster node unsubscribed us: the channel's slot is served elsewhere now."""


class RedisInvalidationFeed:
    """An ``InvalidationFeed`` over Redis pub/sub, on a connection of its own.

    The subscription's connection is pinged every ``ping_interval`` seconds; three intervals
    without a word from the server mean it is dead, and ``listen`` raises ``ConnectionLost``. On a
    cluster the subscription is sharded (``SSUBSCRIBE``, on the primary of the channel's slot); when
    that slot moves, the node unsubscribes us and ``listen`` raises ``ConnectionLost`` too, so the
    next ``listen`` subscribes on the slot's new primary.

    Args:
        client: Redis client whose server and settings the subscription's own client copies.
        channel: The invalidation channel.
        ping_interval: Seconds between liveness pings.
    """

    def __init__(self, client: AnyRedis, channel: str, *, ping_interval: float = 1.0) -> None:
        self._client = client
        self._sharded = isinstance(client, RedisCluster)
        self._subscription: Redis | None = None
        self.channel = channel
        self._ping_interval = ping_interval

    async def listen(self) -> AsyncGenerator[Subscribed | Broadcast, None]:
        """Subscribe; yield ``Subscribed`` once Redis confirms, then every message as a ``Broadcast``.

        A malformed message is logged and heard as an empty broadcast (the channel is alive).

        Raises:
            ConnectionLost: the connection broke, stopped answering pings, or the slot moved.
        """
        await self.close()  # a fresh client each time: after a failover the primary is another
        try:
            self._subscription = await subscription_client(self._client, self.channel)
            async with self._subscription.pubsub() as pubsub:
                if self._sharded:
                    await pubsub.ssubscribe(self.channel)
                else:
                    await pubsub.subscribe(self.channel)
                heard = next_ping = time.monotonic()
                while True:
                    message = await pubsub.get_message(timeout=self._ping_interval / 2)
                    now = time.monotonic()
                    if message is not None:
                        heard = now
                        if (event := _event(message)) is not None:
                            yield event
                    if now - heard > 3 * self._ping_interval:
                        raise _Silent
                    if now >= next_ping:
                        await pubsub.ping()
                        next_ping = now + self._ping_interval
        except (*FAILURES, _Silent, _Moved) as error:
            raise ConnectionLost(type(error).__name__) from error

    async def close(self) -> None:
        """Close the subscription's own client and its connections."""
        if self._subscription is not None:
            subscription, self._subscription = self._subscription, None
            await subscription.aclose(close_connection_pool=True)


def _event(message: dict[str, Any]) -> Subscribed | Broadcast | None:
    """What a pub/sub message means to the near cache (None: nothing).

    Raises:
        _Moved: a cluster node unsubscribed us (the channel's slot left it).
    """
    kind = message.get("type")
    if kind in ("subscribe", "ssubscribe"):
        return Subscribed()
    if kind == "sunsubscribe":
        raise _Moved
    if kind not in ("message", "smessage"):
        return None
    try:
        parsed = decode_message(message["data"])
    except (msgspec.DecodeError, msgspec.ValidationError):
        log.warning("ignored a malformed invalidation message")
        return Broadcast()
    return Broadcast(parsed.c, parsed.f)
