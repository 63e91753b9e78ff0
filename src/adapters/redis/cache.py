"""The L2 cache in Redis: compare-and-set on version through Lua, leases, tombstones, negative entries."""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import secrets
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any, TypeVar

from redis.asyncio import RedisCluster
from redis.commands.core import AsyncScript
from redis.exceptions import RedisClusterException, RedisError

from adapters.batching import GroupCommit
from adapters.breaker import CircuitBreaker
from adapters.redis import scripts
from adapters.redis.cluster import AnyRedis
from adapters.redis.keys import Keys, TaggedKeys
from adapters.redis.slots import ClusterLookup, Layout, SlotScript
from productcore.caching import CacheLookup, CacheStats, FillLease, Invalidation, LookupStatus
from productcore.errors import ServiceUnavailable
from productcore.model import CachedProduct

log = logging.getLogger(__name__)

T = TypeVar("T")

FAILURES = (RedisError, RedisClusterException, OSError, TimeoutError)
"""What a Redis call may fail with (a cluster client's own errors, such as no reachable node, are not
``RedisError``)."""

BatchScript = AsyncScript | SlotScript | ClusterLookup
"""A script over many items: one call on one server, one per hash slot on a cluster."""


@dataclass(frozen=True, slots=True)
class CacheTimes:
    """Lifetimes, in seconds, of what the cache stores."""

    ttl: float = 3600.0
    negative_ttl: float = 5.0
    lease_ttl: float = 1.0


def parse_value(value: bytes) -> CachedProduct:
    """Split a stored ``v<version>:<body>`` value into version and body (None for a tombstone)."""
    head, _, body = value.partition(b":")
    return CachedProduct(int(head[1:]), body or None)


def _ms(seconds: float) -> int:
    return max(1, round(seconds * 1000))


_MISS = CacheLookup(LookupStatus.MISS)


def _outcome(reply: list[Any], token: str) -> CacheLookup:
    """One id's answer of the lookup script."""
    code = int(reply[0])
    if code == 1:
        return CacheLookup(LookupStatus.HIT, parse_value(reply[1]))
    if code == 2:
        return CacheLookup(LookupStatus.ABSENT)
    if code == 3:
        generation = reply[1].decode() if isinstance(reply[1], bytes) else str(reply[1])
        return CacheLookup(LookupStatus.MISS, lease=FillLease(token, generation))
    return CacheLookup(LookupStatus.BUSY)


_TOMBSTONES_PER_CALL = 500
_SCAN_SECONDS = 120.0
"""Longest time an operation that walks every key of the prefix (after a TRUNCATE) may take."""


@dataclass(slots=True)
class _Store:
    """One fill or write-through in a batch, and the callers waiting for its outcome."""

    product_id: int
    entry: CachedProduct
    token: str
    waiters: list[asyncio.Future[Any]] = field(default_factory=list)


@dataclass(slots=True)
class _Lookup:
    """One id in a batch of lookups: its lease token, and the readers waiting for it."""

    product_id: int
    token: str
    waiters: list[asyncio.Future[Any]] = field(default_factory=list)


class _Tokens:
    """Unique strings (a random prefix per process, then a counter): lease tokens and generations."""

    def __init__(self) -> None:
        self.reseed()
        os.register_at_fork(after_in_child=self.reseed)

    def reseed(self) -> None:
        """A new prefix (every process must have its own)."""
        self._prefix = secrets.token_hex(6)
        self._counter = itertools.count()

    def next(self) -> str:
        """A new token."""
        return f"{self._prefix}{next(self._counter):x}"


_tokens = _Tokens()


class RedisProductCache:
    """A ``ProductCache`` in Redis; every key carries a TTL.

    Reads, fills and write-through fail open behind a circuit breaker: while Redis fails,
    lookups miss at once (the service reads PostgreSQL) and writes are dropped. The relay's
    operations (tombstones, generations, clearing) raise ``ServiceUnavailable`` instead, so the
    relay keeps its changes and retries.
    """

    def __init__(
        self,
        client: AnyRedis,
        prefix: str,
        *,
        times: CacheTimes | None = None,
        breaker: CircuitBreaker | None = None,
        stats: CacheStats | None = None,
        call_timeout: float = 0.25,
    ) -> None:
        self._client = client
        self._call_timeout = call_timeout
        self._lookups = GroupCommit[_Lookup](self._look_up)
        self._fills = GroupCommit[_Store](lambda batch: self._store(batch, self._fill, with_token=True))
        self._writes = GroupCommit[_Store](lambda batch: self._store(batch, self._write, with_token=False))
        self._times = times or CacheTimes()
        self.breaker = breaker or CircuitBreaker()
        self._stats = stats if stats is not None else CacheStats()
        self._fill_absent = client.register_script(scripts.FILL_ABSENT)
        self._release = client.register_script(scripts.RELEASE)
        self._relayed_through = client.register_script(scripts.RELAYED_THROUGH)
        self._mark_relayed = client.register_script(scripts.MARK_RELAYED)
        self._lookup: BatchScript
        self._fill: BatchScript
        self._write: BatchScript
        self._bump: BatchScript
        if isinstance(client, RedisCluster):
            self.keys: Keys = TaggedKeys(prefix)
            self._absent_keys = 2  # the generation is in another slot (scripts.FILL_ABSENT)
            self._lookup = ClusterLookup(client)
            self._fill = SlotScript(client, scripts.FILL, Layout(keys=2, head=1, args=3))
            self._write = SlotScript(client, scripts.WRITE, Layout(keys=2, head=1, args=2))
            self._bump = SlotScript(client, scripts.BUMP, Layout(keys=1, head=1, args=0, counts=True))
        else:
            self.keys = Keys(prefix)
            self._absent_keys = 3
            self._lookup = client.register_script(scripts.LOOKUP)
            self._fill = client.register_script(scripts.FILL)
            self._write = client.register_script(scripts.WRITE)
            self._bump = client.register_script(scripts.BUMP)

    async def _guarded(self, operation: Callable[[], Awaitable[T]], fallback: T) -> T:
        """Run ``operation`` unless the breaker is open; on a Redis failure, return ``fallback``."""
        if not self.breaker.allow():
            return fallback
        try:
            with self.breaker.watching(FAILURES):
                async with asyncio.timeout(self._call_timeout):
                    return await operation()
        except FAILURES as error:
            self._stats.l2_errors += 1
            log.warning("Redis cache call failed (%s); serving from PostgreSQL", type(error).__name__)
            return fallback

    async def _required(self, operation: Callable[[], Awaitable[T]], seconds: float = 5.0) -> T:
        """Run ``operation`` within ``seconds``; a Redis failure becomes ``ServiceUnavailable``."""
        try:
            with self.breaker.watching(FAILURES):
                async with asyncio.timeout(max(seconds, self._call_timeout)):
                    return await operation()
        except FAILURES as error:
            raise ServiceUnavailable(f"the cache is unavailable ({type(error).__name__})") from None

    async def lookup(self, product_id: int) -> CacheLookup:
        """The entry, or a miss that takes the fill lease when it is free (one script call per batch)."""
        waiter: asyncio.Future[CacheLookup] = asyncio.get_running_loop().create_future()
        self._lookups.entry(
            self.keys.entry(product_id), lambda: _Lookup(product_id, _tokens.next())
        ).waiters.append(waiter)
        return await waiter

    async def _look_up(self, batch: dict[str, _Lookup]) -> None:
        """Run one batch of lookups; while Redis fails (breaker), every lookup of it misses."""
        lookups = list(batch.values())

        async def run() -> list[Any]:
            keys = [self.keys.generation]
            args: list[str | int] = [_ms(self._times.lease_ttl), _tokens.next(), _ms(self._times.ttl)]
            for lookup in lookups:
                keys += (self.keys.entry(lookup.product_id), self.keys.lease(lookup.product_id))
                args.append(lookup.token)
            replies: list[Any] = await self._lookup(keys=keys, args=args)
            return replies

        replies = await self._guarded(run, None)
        for index, lookup in enumerate(lookups):
            outcome = _outcome(replies[index], lookup.token) if replies is not None else _MISS
            for waiter in lookup.waiters:
                if not waiter.done():
                    waiter.set_result(outcome)

    async def fill(self, product_id: int, entry: CachedProduct, lease: FillLease) -> bool:
        """Store under the lease, by compare-and-set on version (one script call per batch of fills)."""
        if entry.body is None:
            return False
        waiter: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._fills.entry(lease.token, lambda: _Store(product_id, entry, lease.token)).waiters.append(waiter)
        return await waiter

    async def _store(self, batch: dict[str, _Store], script: BatchScript, *, with_token: bool) -> None:
        """Run one batch of fills or writes; while Redis fails (breaker), none is stored."""
        stores = list(batch.values())

        async def run() -> list[Any]:
            keys: list[str] = []
            args: list[str | int | bytes] = [_ms(self._times.ttl)]
            for store in stores:
                keys += (self.keys.entry(store.product_id), self.keys.lease(store.product_id))
                args += (store.token, store.entry.version) if with_token else (store.entry.version,)
                args.append(store.entry.body or b"")
            replies: list[Any] = await script(keys=keys, args=args)
            return replies

        replies = await self._guarded(run, None)
        for index, store in enumerate(stores):
            stored = replies is not None and bool(replies[index])
            for waiter in store.waiters:
                if not waiter.done():
                    waiter.set_result(stored)

    async def fill_absent(self, product_id: int, lease: FillLease) -> bool:
        """Store a short-lived negative entry under the lease and its insert generation."""

        async def run() -> bool:
            keys = [self.keys.entry(product_id), self.keys.lease(product_id), self.keys.generation]
            stored = await self._fill_absent(
                keys=keys[: self._absent_keys],
                args=[lease.token, lease.generation, _ms(self._times.negative_ttl)],
            )
            return bool(stored)

        return await self._guarded(run, False)

    async def release(self, product_id: int, lease: FillLease) -> None:
        """Free the id's lease if this reader still holds it (its database read failed)."""

        async def run() -> None:
            await self._release(keys=[self.keys.lease(product_id)], args=[lease.token])

        await self._guarded(run, None)

    async def written(self, product_id: int, entry: CachedProduct) -> bool:
        """Write-through by compare-and-set; revokes the id's fill lease (one script call per batch)."""
        waiter: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        key = self.keys.entry(product_id)
        store = self._writes.entry(key, lambda: _Store(product_id, entry, ""))
        if store.entry.version < entry.version:
            store.entry = entry  # two writes of one id in a batch: the newer is the one to store
        store.waiters.append(waiter)
        return await waiter

    async def tombstone(self, marks: Sequence[Invalidation]) -> None:
        """Tombstone each id at its version (one script call per 500 ids); revokes leases."""
        ttl = _ms(self._times.ttl)
        for start in range(0, len(marks), _TOMBSTONES_PER_CALL):
            keys: list[str] = []
            args: list[str | int | bytes] = [ttl]
            for mark in marks[start : start + _TOMBSTONES_PER_CALL]:
                keys += (self.keys.entry(mark.product_id), self.keys.lease(mark.product_id))
                args += (mark.version, b"")
            await self._required(partial(self._write, keys=keys, args=args))

    async def ids_added(self) -> None:
        """Start a new insert generation, which makes every negative entry stale."""
        await self._required(
            lambda: self._client.set(self.keys.generation, secrets.token_hex(8), px=_ms(self._times.ttl))
        )

    async def clear(self) -> None:
        """Revoke every lease and tombstone every document one version on (after a TRUNCATE)."""

        async def run() -> None:
            async for key in self._client.scan_iter(match=f"{self.keys.prefix}:l:*", count=1000):
                await self._client.delete(key)
            batch: list[bytes] = []
            async for key in self._client.scan_iter(match=f"{self.keys.prefix}:p:*", count=1000):
                batch.append(key)
                if len(batch) == 500:
                    await self._bump(keys=batch, args=[_ms(self._times.ttl)])
                    batch = []
            if batch:
                await self._bump(keys=batch, args=[_ms(self._times.ttl)])

        await self._required(run, seconds=_SCAN_SECONDS)

    async def relayed(self, position: int) -> None:
        """Record that every change up to this outbox position is in the cache."""
        ttl = _ms(self._times.ttl)
        await self._required(lambda: self._mark_relayed(keys=[self.keys.relayed], args=[position, ttl]))

    async def relayed_through(self, position: int) -> bool:
        """Whether the cache saw every change up to this outbox position (its record is that far)."""
        ttl = _ms(self._times.ttl)
        seen = await self._required(
            lambda: self._relayed_through(keys=[self.keys.relayed], args=[position, ttl])
        )
        return bool(seen)

    async def forget_all(self) -> None:
        """Delete every document, tombstone, negative entry and lease, and the insert generation."""

        async def run() -> None:
            batch: list[bytes] = []
            async for key in self._client.scan_iter(match=f"{self.keys.prefix}:*", count=1000):
                batch.append(key)
                if len(batch) == 500:
                    await self._client.delete(*batch)
                    batch = []
            if batch:
                await self._client.delete(*batch)

        await self._required(run, seconds=_SCAN_SECONDS)

    async def raw(self, product_id: int) -> bytes | None:
        """The stored value of an id as it is (for inspection and tests)."""
        value = await self._client.get(self.keys.entry(product_id))
        return value.encode() if isinstance(value, str) else value
