"""Redis Cluster URLs (``redis+cluster://host:port[,host:port...]``, the form ``limits`` uses) and clients."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from redis.asyncio import Redis, RedisCluster
from redis.asyncio.cluster import ClusterNode
from redis.exceptions import RedisClusterException, RedisError

log = logging.getLogger(__name__)

SCHEMES = ("redis+cluster", "rediss+cluster")

AnyRedis = Redis | RedisCluster
"""A client of one server or of a cluster: every adapter here takes either."""


def is_cluster_url(url: str) -> bool:
    """Whether ``url`` names a Redis Cluster (``redis+cluster://`` or ``rediss+cluster://``)."""
    return url.partition("://")[0].lower() in SCHEMES


@dataclass(frozen=True, slots=True)
class ClusterUrl:
    """The parts of a cluster URL: seed nodes (any of them; the client learns the rest), credentials."""

    nodes: tuple[tuple[str, int], ...]
    username: str | None = None
    password: str | None = None
    tls: bool = False


def parse_cluster_url(url: str) -> ClusterUrl:
    """Split ``redis+cluster://[user:password@]host:port[,host:port...][/0]``.

    Raises:
        ValueError: the scheme, a node, the port or the database number is wrong, or there are
            query options (none is supported).
    """
    scheme, separator, rest = url.partition("://")
    if not separator or scheme.lower() not in SCHEMES:
        raise ValueError(f"a cluster URL starts with redis+cluster:// (not {scheme}://)")
    rest, question, _ = rest.partition("?")
    if question:
        raise ValueError("a cluster URL takes no ?options")
    rest, _, path = rest.partition("/")
    if path not in ("", "0"):
        raise ValueError("a Redis Cluster has database 0 only")
    credentials, at, hosts = rest.rpartition("@")
    username = password = None
    if at:
        user, colon, secret = credentials.partition(":")
        username, password = (unquote(user) or None), (unquote(secret) if colon else None)
    nodes = tuple(_node(part) for part in hosts.split(","))
    return ClusterUrl(nodes, username, password, scheme.lower() == "rediss+cluster")


def _node(text: str) -> tuple[str, int]:
    host, colon, port = text.strip().rpartition(":")
    if not colon or not host or not port.isdigit() or not 0 < int(port) <= 65535:
        raise ValueError(f"{text!r} is not host:port")
    return host.strip("[]"), int(port)


def cluster_client(url: str, **kwargs: Any) -> RedisCluster:
    """A cluster client seeded with the URL's nodes (``kwargs`` go to every node's connections).

    Without a socket timeout, as for one server (``client.open_redis`` says why); callers bound
    their calls with ``asyncio.timeout``.
    """
    parsed = parse_cluster_url(url)
    options: dict[str, Any] = {"socket_timeout": None, **kwargs}
    if parsed.tls:
        options["ssl"] = True
    return RedisCluster(
        startup_nodes=[ClusterNode(host, port) for host, port in parsed.nodes],
        username=parsed.username,
        password=parsed.password,
        **options,
    )


def client_from_url(url: str, **kwargs: Any) -> AnyRedis:
    """A client of ``url``: ``RedisCluster`` for a cluster URL, else ``Redis.from_url``."""
    if is_cluster_url(url):
        return cluster_client(url, **kwargs)
    return Redis.from_url(url, **kwargs)


async def discover(client: AnyRedis, *, within: float = 5.0) -> None:
    """Learn a cluster's nodes and slots now (nothing to do for one server).

    redis-py learns them on the first command, which would then pay for it (a round trip to each
    seed node and a connection per primary) within that command's own short timeout. A cluster that
    cannot be reached now is logged and left to later calls, which fail open as any outage does.
    """
    if not isinstance(client, RedisCluster):
        return
    try:
        async with asyncio.timeout(within):
            await client.initialize()
    except (RedisError, RedisClusterException, OSError, TimeoutError) as error:
        log.warning("Redis Cluster not reachable at start (%s: %s)", type(error).__name__, error)
