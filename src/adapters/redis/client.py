"""The Redis client: opened with short timeouts, checked for eviction and persistence, closed on exit."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from redis.asyncio import ConnectionPool, Redis, RedisCluster
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisClusterException, RedisError, SlotNotCoveredError

from adapters.redis.cluster import AnyRedis, client_from_url, discover

log = logging.getLogger(__name__)

EVICTING_POLICIES = ("allkeys-lru", "allkeys-lfu", "volatile-lru", "volatile-lfu")
_CONFIG_TIMEOUT = 5.0


async def _config(client: AnyRedis, name: str) -> list[str | None]:
    """A server setting: one value, or one per node of a cluster (None: CONFIG may be disabled)."""
    try:
        async with asyncio.timeout(_CONFIG_TIMEOUT):
            if isinstance(client, RedisCluster):
                replies = await client.config_get(name, target_nodes=RedisCluster.ALL_NODES)
                return [_setting(reply, name) for reply in replies.values()]
            return [_setting(await client.config_get(name), name)]
    except (RedisError, RedisClusterException, OSError, TimeoutError) as error:
        log.warning("could not read the Redis setting %s (%s)", name, type(error).__name__)
        return [None]


def _setting(reply: Any, name: str) -> str | None:
    """A setting's value in a CONFIG GET reply."""
    settings: dict[Any, Any] = dict(reply)
    value = settings.get(name, settings.get(name.encode()))
    if isinstance(value, bytes):
        return value.decode()
    return value if isinstance(value, str) else None


async def eviction_policy(client: AnyRedis) -> str | None:
    """The server's ``maxmemory-policy`` (on a cluster, a node's that does not evict, if any), or None
    when it cannot be read."""
    policies = await _config(client, "maxmemory-policy")
    return next((p for p in policies if p is not None and p not in EVICTING_POLICIES), policies[0])


async def warn_if_persistent(client: AnyRedis) -> bool:
    """Log a warning when the server (on a cluster, any node) saves to disk; True when it does.

    A Redis that reloads a snapshot after a restart brings back cache entries older than what
    PostgreSQL and every writer have since seen, and nothing invalidates them (the changes were
    relayed long ago): they would be served until their TTL. A cache's Redis must start empty.
    """
    saves, appendonly = await _config(client, "save"), await _config(client, "appendonly")
    persistent = any(save and save.strip() for save in saves) or "yes" in appendonly
    if persistent:
        log.warning(
            "Redis persists to disk (save %r, appendonly %r): after a restart it would reload cache "
            "entries older than the database and serve them until their TTL; run the cache's Redis "
            'with save "" and appendonly no',
            _one(saves),
            _one(appendonly),
        )
    return persistent


def _one(values: list[str | None]) -> str | list[str | None] | None:
    """One value as itself, several (a cluster's nodes) as a list."""
    return values[0] if len(set(values)) == 1 else values


async def warn_unless_lru(client: AnyRedis) -> str | None:
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
async def open_redis(url: str, *, call_timeout: float = 0.25) -> AsyncIterator[AnyRedis]:
    """Yield a client of ``url`` (connecting within ``call_timeout`` seconds), then close it;
    a ``RedisCluster`` for a ``redis+cluster://`` URL.

    The client has no socket timeout: with one, redis-py sends every command through
    ``asyncio.wait_for``, which on Python 3.11 runs it as a task of its own (two more turns of the
    event loop per command). Every caller bounds its calls with ``asyncio.timeout`` instead. One
    retry at most: a dead server costs a request one quick failure, and the cache's circuit breaker
    then stops sending requests its way.
    """
    client = client_from_url(
        url,
        socket_connect_timeout=call_timeout,
        retry=Retry(NoBackoff(), 1),
        client_name="productcore",
    )
    try:
        await discover(client)
        await warn_unless_lru(client)
        await warn_if_persistent(client)
        yield client
    finally:
        await client.aclose()


async def subscription_client(client: AnyRedis, channel: str) -> Redis:
    """A client of ``client``'s server, with its settings, for one long-lived subscription to
    ``channel``, but without a socket timeout; close it with ``aclose(close_connection_pool=True)``.

    On a cluster, a client of the primary that owns ``channel``'s slot, where sharded messages are
    published (``SPUBLISH``) and delivered; the cluster's slot map is read afresh first, so a
    subscription made again after a failover finds the new primary.

    With a socket timeout, redis-py sends every command (the subscriber's liveness PING) through
    ``asyncio.wait_for``, which on Python 3.11 runs it as a task of its own: each PING then costs
    the subscriber two turns of the event loop in which it reads nothing, and on a busy loop
    (measured: turns of 200-400 ms) invalidations waited behind it for up to 0.9 s. The
    subscriber needs no socket timeout: its own pings tell it when the server stopped answering.
    """
    if isinstance(client, RedisCluster):
        await client.nodes_manager.initialize()
        node = client.get_node_from_key(channel)
        if node is None:
            raise SlotNotCoveredError(f"no node serves the slot of {channel}")
        kwargs = {**node.connection_kwargs, "socket_timeout": None}
        kwargs.pop("himport_registry", None)
        return Redis(connection_pool=ConnectionPool(connection_class=node.connection_class, **kwargs))
    pool = client.connection_pool
    kwargs = {**pool.connection_kwargs, "socket_timeout": None}
    return Redis(connection_pool=ConnectionPool(connection_class=pool.connection_class, **kwargs))
