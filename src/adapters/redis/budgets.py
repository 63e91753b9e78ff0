"""Rate-limit budgets in Redis, decided in batches: one script call carries every decision of a moment.

Decisions go out in batches (``batching.GroupCommit``): under heavy load one round trip decides every
request of the last millisecond. Every decision is still made in Redis, atomically, in arrival
order, so budgets are exact and global across instances.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any, Literal

from redis.asyncio import Redis

from adapters.redis.batching import GroupCommit

Strategy = Literal["sliding-window-counter", "moving-window"]

# KEYS: one budget per entry. ARGV[1]: 'c' (sliding window counter) or 'm' (moving window); then per
# entry: quota, window ms, requests. Returns per entry {allowed, room before, ms until room again}.
# Time is the server's, so every instance counts against the same clock.
DECIDE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local moving = ARGV[1] == 'm'
local out = {}
for i, key in ipairs(KEYS) do
  local quota = tonumber(ARGV[i * 3 - 1])
  local window = tonumber(ARGV[i * 3])
  local asked = tonumber(ARGV[i * 3 + 1])
  local room, allowed, reset
  if moving then
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
    local left = window - (now - index * window)
    local h = redis.call('HMGET', key, 'w', 'c', 'p')
    local current, previous = tonumber(h[2]) or 0, tonumber(h[3]) or 0
    if tonumber(h[1]) ~= index then
      if tonumber(h[1]) == index - 1 then previous = current else previous = 0 end
      current = 0
    end
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
  out[i] = {allowed, room, math.max(1, math.ceil(reset))}
end
return out
"""


@dataclass(frozen=True, slots=True)
class Verdict:
    """One request's outcome: allowed or not, the room left after it, and seconds until there is room."""

    allowed: bool
    remaining: int
    reset_after: float


@dataclass(slots=True)
class _Entry:
    """The requests of one budget in one batch, in arrival order."""

    quota: int
    window_ms: int
    waiters: list[asyncio.Future[Any]] = field(default_factory=list)


class BatchedBudgets:
    """Budgets kept in Redis, each request decided there, the decisions of a moment sent together.

    Args:
        client: The Redis client (its socket timeout bounds each batch).
        key_prefix: Prefix of every budget key.
        strategy: ``sliding-window-counter`` (two counters per budget) or ``moving-window`` (one
            timestamp per request in the window, exact).
        interval: Least time between two batches, in seconds.
    """

    def __init__(
        self, client: Redis, key_prefix: str, strategy: Strategy, *, interval: float = 0.001
    ) -> None:
        self._script = client.register_script(DECIDE)
        self._prefix = key_prefix
        self._mode = "m" if strategy == "moving-window" else "c"
        self._batches = GroupCommit[_Entry](self._run, interval=interval)

    @property
    def batches_sent(self) -> int:
        """Script calls made so far (each decides one batch)."""
        return self._batches.batches_sent

    def key(self, name: str, identity: str) -> str:
        """The Redis key of one identity's budget (hash-tagged by identity, for Redis Cluster)."""
        return f"{self._prefix}:{{{identity}}}:{name}"

    def decide(self, name: str, quota: int, window_s: int, identity: str) -> asyncio.Future[Verdict]:
        """Count one request against a budget; the future resolves once Redis has decided."""
        waiter: asyncio.Future[Verdict] = asyncio.get_running_loop().create_future()
        entry = self._batches.entry(self.key(name, identity), lambda: _Entry(quota, window_s * 1000))
        entry.waiters.append(waiter)
        return waiter

    async def _run(self, batch: dict[str, _Entry]) -> None:
        args: list[str | int] = [self._mode]
        for entry in batch.values():
            args += [entry.quota, entry.window_ms, len(entry.waiters)]
        replies = await self._script(keys=list(batch), args=args)
        for entry, (allowed, room, reset_ms) in zip(batch.values(), replies, strict=True):
            reset = int(reset_ms) / 1000
            for position, waiter in enumerate(entry.waiters):
                if not waiter.done():
                    ok = position < int(allowed)
                    waiter.set_result(Verdict(ok, max(0, int(room) - position - 1), reset))

    async def aclose(self) -> None:
        """Wait for the batch in flight, if any."""
        await self._batches.aclose()
