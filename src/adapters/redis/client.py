"""The Redis client: opened with short timeouts, checked for eviction and persistence, closed on exit."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from redis.asyncio import ConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

EVICTING_POLICIES = ("allkeys-lru", "allkeys-lfu", "volatile-lru", "volatile-lfu")
_CONFIG_TIMEOUT = 5.0


async def _config(client: Redis, name: str) -> str | None:
    """One server setting, or None when it cannot be read (CONFIG may be disabled)."""
    try:
        async with asyncio.timeout(_CONFIG_TIMEOUT):
            reply: dict[Any, Any] = dict(await client.config_get(name))
    except (RedisError, OSError, TimeoutError) as error:
        log.warning("could not read the Redis setting %s (%s)", name, type(error).__name__)
        return None
    value = reply.get(name, reply.get(name.encode()))
    if isinstance(value, bytes):
        return value.decode()
    return value if isinstance(value, str) else None


async def eviction_policy(client: Redis) -> str | None:
    """The server's ``maxmemory-policy``, or None when it cannot be read."""
    return await _config(client, "maxmemory-policy")


async def warn_if_persistent(client: Redis) -> bool:
    """Log a warning when the server saves to disk; True when it does.

    A Redis that reloads a snapshot after a restart brings back cache entries older than what
    PostgreSQL and every writer have since seen, and nothing invalidates them (the changes were
    relayed long ago): they would be served until their TTL. A cache's Redis must start empty.
    """
    save, appendonly = await _config(client, "save"), await _config(client, "appendonly")
    persistent = bool(save and save.strip()) or appendonly == "yes"
    if persistent:
        log.warning(
            "Redis persists to disk (save %r, appendonly %r): after a restart it would reload cache "
            "entries older than the database and serve them until their TTL; run the cache's Redis "
            'with save "" and appendonly no',
            save,
            appendonly,
        )
    return persistent


async def warn_unless_lru(client: Redis) -> str | None:
    """Log a warning when the server would not evict cache entries by recency or frequency."""
    policy = await eviction_policy(client)
    if policy is not None and policy not in EVICTING_POLICIES:
        log.warning(
            "Redis maxmemory-policy is %r: a full cache will %s; use allkeys-lru (or allkeys-lfu)",
            policy,
            "reject writes" if policy == "noeviction" else "evict by a rule that ignores use",
        )
    return policy


@asynccontextmanager
async def open_redis(url: str, *, call_timeout: float = 0.25) -> AsyncIterator[Redis]:
    """Yield a client of ``url`` (connecting within ``call_timeout`` seconds), then close it.

    The client has no socket timeout: with one, redis-py sends every command through
    ``asyncio.wait_for``, which on Python 3.11 runs it as a task of its own (two more turns of the
    event loop per command). Every caller bounds its calls with ``asyncio.timeout`` instead. One
    retry at most: a dead server costs a request one quick failure, and the cache's circuit breaker
    then stops sending requests its way.
    """
    client = Redis.from_url(
        url,
        socket_connect_timeout=call_timeout,
        retry=Retry(NoBackoff(), 1),
        client_name="productcore",
    )
    try:
        await warn_unless_lru(client)
        await warn_if_persistent(client)
        yield client
    finally:
        await client.aclose()


def subscription_client(client: Redis) -> Redis:
    """A client of ``client``'s server, with its settings, for one long-lived subscription, but
    without a socket timeout; close it with ``aclose(close_connection_pool=True)``.

    With a socket timeout, redis-py sends every command (the subscriber's liveness PING) through
    ``asyncio.wait_for``, which on Python 3.11 runs it as a task of its own: each PING then costs
    the subscriber two turns of the event loop in which it reads nothing, and on a busy loop
    (measured: turns of 200-400 ms) invalidations waited behind it for up to 0.9 s. The
    subscriber needs no socket timeout: its own pings tell it when the server stopped answering.
    """
    pool = client.connection_pool
    kwargs = {**pool.connection_kwargs, "socket_timeout": None}
    return Redis(connection_pool=ConnectionPool(connection_class=pool.connection_class, **kwargs))
