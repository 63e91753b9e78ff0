"""Rate-limit budgets in Redis, decided in batches: one script call carries every decision of a moment.

Decisions go out in batches (``batching.GroupCommit``): under heavy load one round trip decides every
request of the last millisecond. Every decision is still made in Redis, atomically, in arrival
order, so budgets are exact and global across instances.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any, Literal

from redis.asyncio import RedisCluster
from redis.commands.core import AsyncScript

from adapters.batching import GroupCommit
from adapters.redis.cluster import AnyRedis
from adapters.redis.slots import Layout, SlotScript

Strategy = Literal["sliding-window-counter", "moving-window"]

# KEYS: one budget per entry. ARGV[1]: 'c' (sliding window counter) or 'm' (moving window); then per
# entry: quota, window ms, requests, refund, mark. A refund gives back the unused requests of an
# expired lease, counted at ``mark`` (a window index, or a moving window's timestamp). Returns per
# entry {allowed, room before, ms until room again, mark of what was counted now}. Time is the
# server's, so every instance counts against the same clock.
DECIDE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local moving = ARGV[1] == 'm'
local out = {}
for i, key in ipairs(KEYS) do
  local quota = tonumber(ARGV[i * 5 - 3])
  local window = tonumber(ARGV[i * 5 - 2])
  local asked = tonumber(ARGV[i * 5 - 1])
  local refund = tonumber(ARGV[i * 5])
  local mark = tonumber(ARGV[i * 5 + 1])
  local room, allowed, reset, counted_at
  if moving then
    counted_at = now
    if refund > 0 then redis.call('LREM', key, refund, mark) end
    local low, high, count = 0, redis.call('LLEN', key) - 1, 0
    while low <= high do
      local mid = math.floor((low + high) / 2)
      if tonumber(redis.call('LINDEX', key, mid)) > now - window then
        count = mid + 1
        low = mid + 1
      else
        high = mid - 1
      end
    end
    room = quota - count
    allowed = math.min(asked, math.max(room, 0))
    if allowed > 0 then
      local stamps = {}
      for j = 1, math.min(allowed, 1000) do stamps[j] = now end
      for j = 1, allowed, 1000 do
        redis.call('LPUSH', key, unpack(stamps, 1, math.min(1000, allowed - j + 1)))
      end
      redis.call('LTRIM', key, 0, quota - 1)
      redis.call('PEXPIRE', key, window)
      count = count + allowed
    end
    reset = window
    if count > 0 then reset = tonumber(redis.call('LINDEX', key, count - 1)) + window - now end
  else
    local index = math.floor(now / window)
    counted_at = index
    local left = window - (now - index * window)
    local h = redis.call('HMGET', key, 'w', 'c', 'p')
    local current, previous = tonumber(h[2]) or 0, tonumber(h[3]) or 0
    if tonumber(h[1]) ~= index then
      if tonumber(h[1]) == index - 1 then previous = current else previous = 0 end
      current = 0
    end
    if refund > 0 and mark == index then current = math.max(0, current - refund) end
    if refund > 0 and mark == index - 1 then previous = math.max(0, previous - refund) end
    room = quota - (math.floor(previous * left / window) + current)
    allowed = math.min(asked, math.max(room, 0))
    current = current + allowed
    redis.call('HSET', key, 'w', index, 'c', current, 'p', previous)
    redis.call('PEXPIRE', key, window * 2)
    if room - allowed > 0 then
      reset = left
    elseif current < quota and previous > 0 then
      reset = math.max(1, left - math.floor((quota - current) * window / previous))
    else
      reset = left + math.max(0, window - math.floor(quota * window / current))
    end
  end
  out[i] = {allowed, room, math.max(1, math.ceil(reset)), counted_at}
end
return out
"""


_MAX_LEASES = 100_000
"""Leases kept at most (they are dropped, all of them, past this: each is at most a second's worth)."""


@dataclass(frozen=True, slots=True)
class Verdict:
    """One request's outcome: allowed or not, the room left after it, and seconds until there is room."""

    allowed: bool
    remaining: int
    reset_after: float


@dataclass(slots=True)
class _Entry:
    """The requests of one budget in one batch, in arrival order, and the lease to take with them."""

    quota: int
    window_ms: int
    lease: int
    waiters: list[asyncio.Future[Any]] = field(default_factory=list)
    refund: int = 0
    """Unused requests of this budget's expired lease, given back with this batch."""
    mark: int = 0
    """Where that lease was counted (the script's mark)."""


@dataclass(slots=True)
class _Lease:
    """Requests of one budget already counted in Redis and not yet made: spent here without asking."""

    tokens: int
    room: int
    """Room left in Redis after the lease was counted (as of then)."""
    reset_at: float
    expires_at: float
    mark: int
    """Where Redis counted the lease (a window index, or a moving window's timestamp)."""


class BatchedBudgets:
    """Budgets kept in Redis, each request counted there, the decisions of a moment sent together.

    A budget of ``quota`` requests also takes a lease of ``quota // lease_divisor`` requests with its
    first request in a batch: they are counted in Redis at once, and this process lets that many
    more requests of the budget through without asking (for at most ``lease_seconds``). No budget
    is ever exceeded, since every request is counted before it is let through; the price is that a
    process may hold up to ``quota // lease_divisor`` requests it never uses (1% by default), which
    other processes then cannot use within the window. Budgets under ``lease_divisor`` take no
    lease: every request is decided in Redis.

    Args:
        client: The Redis client; on a cluster a batch is one script call per hash slot (each
            identity's budgets share its slot), sent in one pipeline.
        key_prefix: Prefix of every budget key.
        strategy: ``sliding-window-counter`` (two counters per budget) or ``moving-window`` (one
            timestamp per request in the window, exact).
        interval: Least time between two batches, in seconds.
        timeout: Longest wait for Redis's answer to a batch, in seconds.
        lease_divisor: A lease is this fraction of a budget's quota (0: no leases).
        lease_seconds: Longest life of a lease.
    """

    def __init__(
        self,
        client: AnyRedis,
        key_prefix: str,
        strategy: Strategy,
        *,
        interval: float = 0.001,
        timeout: float = 0.25,
        lease_divisor: int = 100,
        lease_seconds: float = 1.0,
    ) -> None:
        self._script: AsyncScript | SlotScript = (
            SlotScript(client, DECIDE, Layout(keys=1, head=1, args=5))
            if isinstance(client, RedisCluster)
            else client.register_script(DECIDE)
        )
        self._prefix = key_prefix
        self._mode = "m" if strategy == "moving-window" else "c"
        self._batches = GroupCommit[_Entry](self._run, interval=interval)
        self._timeout = timeout
        self._lease_divisor = lease_divisor
        self._lease_seconds = lease_seconds
        self._leases: dict[str, _Lease] = {}

    @property
    def batches_sent(self) -> int:
        """Script calls made so far (each decides one batch)."""
        return self._batches.batches_sent

    def key(self, name: str, identity: str) -> str:
        """The Redis key of one identity's budget (hash-tagged by identity, for Redis Cluster)."""
        return f"{self._prefix}:{{{identity}}}:{name}"

    def decide(
        self, name: str, quota: int, window_s: int, identity: str
    ) -> Verdict | asyncio.Future[Verdict]:
        """Count one request against a budget: from this process's lease at once, else through Redis."""
        key = self.key(name, identity)
        lease = self._leases.get(key)
        if lease is not None:
            now = time.monotonic()
            if lease.tokens > 0 and now < lease.expires_at:
                lease.tokens -= 1
                return Verdict(True, lease.room + lease.tokens, max(0.0, lease.reset_at - now))
            del self._leases[key]
        waiter: asyncio.Future[Verdict] = asyncio.get_running_loop().create_future()
        size = quota // self._lease_divisor if self._lease_divisor else 0
        entry = self._batches.entry(key, lambda: _Entry(quota, window_s * 1000, size))
        if lease is not None and lease.tokens > 0:
            # Expired unused: give the requests back, or a client slower than the lease's life would
            # spend a whole lease per request.
            entry.refund, entry.mark = lease.tokens, lease.mark
        entry.waiters.append(waiter)
        return waiter

    async def _run(self, batch: dict[str, _Entry]) -> None:
        args: list[str | int] = [self._mode]
        for entry in batch.values():
            args += [entry.quota, entry.window_ms, len(entry.waiters) + entry.lease, entry.refund, entry.mark]
        async with asyncio.timeout(self._timeout):
            replies = await self._script(keys=list(batch), args=args)
        now = time.monotonic()
        for (key, entry), (allowed, room, reset_ms, mark) in zip(batch.items(), replies, strict=True):
            allowed, room, reset = int(allowed), int(room), int(reset_ms) / 1000
            # The waiters take the first of the tokens Redis granted, in arrival order; the rest is
            # the lease. What is left for the client counts the lease as its own.
            for position, waiter in enumerate(entry.waiters):
                if not waiter.done():
                    ok = position < allowed
                    waiter.set_result(Verdict(ok, max(0, room - position - 1) if ok else 0, reset))
            leased = allowed - len(entry.waiters)
            if leased > 0:
                if len(self._leases) >= _MAX_LEASES:
                    self._leases.clear()
                expires = now + min(reset, self._lease_seconds)
                self._leases[key] = _Lease(leased, max(0, room - allowed), now + reset, expires, int(mark))

    async def aclose(self) -> None:
        """Wait for the batch in flight, if any."""
        await self._batches.aclose()
