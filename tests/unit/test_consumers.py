"""The consumers over in-memory ports: the subscriber keeps L1 in step, the relay carries the outbox."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager

from adapters.memory import InMemoryBus, InMemoryProductCache, LruNearCache
from entrypoints.consumers.invalidations import InvalidationSubscriber
from entrypoints.consumers.relay import ChangeRelayRunner, RelayHealth
from productcore.caching import (
    Broadcast,
    CacheStats,
    Change,
    ChangeKind,
    Invalidation,
    OutboxState,
    Subscribed,
)
from productcore.invalidation import ChangeRelay
from productcore.model import CachedProduct
from productcore.ports import (
    ChangeOutbox,
    ConnectionLost,
    InvalidationFeed,
    OutboxMonitor,
    SwitchableNearCache,
)


class QueuedFeed:
    """An ``InvalidationFeed`` the test speaks through: each event put is heard; a ``ConnectionLost``
    put ends the subscription with that error."""

    def __init__(self) -> None:
        self.events: asyncio.Queue[Subscribed | Broadcast | ConnectionLost] = asyncio.Queue()
        self.subscriptions = 0
        self.closed = False

    async def listen(self) -> AsyncGenerator[Subscribed | Broadcast, None]:
        """Hear the queued events until a ``ConnectionLost`` comes."""
        self.subscriptions += 1
        while True:
            event = await self.events.get()
            if isinstance(event, ConnectionLost):
                raise event
            yield event

    async def close(self) -> None:
        """Remember that the feed was closed."""
        self.closed = True


async def until(predicate: Callable[[], bool]) -> None:
    """Let the consumer run until ``predicate()`` holds (within a second)."""
    async with asyncio.timeout(1.0):
        while not predicate():
            await asyncio.sleep(0.001)


async def test_the_subscriber_serves_l1_only_while_subscribed_and_applies_what_it_hears() -> None:
    """Off until subscribed; broadcasts drop older versions; a lost channel flushes and switches L1
    off; the next subscription flushes again and switches it back on."""
    feed, near, stats = QueuedFeed(), LruNearCache(10, 30, enabled=False), CacheStats()
    subscriber = InvalidationSubscriber(feed, near, stats)
    task = asyncio.create_task(subscriber.run())
    try:
        await feed.events.put(Subscribed())
        await until(lambda: subscriber.state == "connected")
        assert near.enabled and near.fill(1, CachedProduct(1, b"{}"), near.ticket())
        await feed.events.put(Broadcast((Invalidation(1, 2),)))
        await until(lambda: stats.invalidations_applied == 1)
        assert near.get(1) is None and not near.fill(1, CachedProduct(1, b"{}"), near.ticket())
        await feed.events.put(ConnectionLost("ConnectionError"))
        await until(lambda: subscriber.state == "disconnected")
        assert not near.enabled and not subscriber.connected.is_set()
        await feed.events.put(Subscribed())
        await until(lambda: subscriber.subscriptions == 2)
        assert near.enabled and feed.subscriptions == 2 and stats.l1_flushes == 3
        details = (await subscriber.check()).details
        assert details["state"] == "connected" and details["near_cache"] == "on"
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert feed.closed


class MemoryOutbox:
    """A ``ChangeOutbox`` in memory: pending changes, the position relayed, one lock holder."""

    def __init__(self) -> None:
        self.pending: list[Change] = []
        self.position = 0
        self.holder: MemorySession | None = None
        self.reachable = True
        self.committed = asyncio.Event()

    def commit(self, *changes: Change) -> None:
        """Record changes as the database's trigger would, and notify."""
        self.pending.extend(changes)
        self.committed.set()

    @asynccontextmanager
    async def connect(self) -> AsyncIterator[MemorySession]:
        """A session; its lock is released when it ends."""
        if not self.reachable:
            raise ConnectionLost("OperationalError")
        session = MemorySession(self)
        try:
            yield session
        finally:
            if self.holder is session:
                self.holder = None


class MemorySession:
    """An ``OutboxSession`` of ``MemoryOutbox``."""

    def __init__(self, outbox: MemoryOutbox) -> None:
        self._outbox = outbox

    async def take_lead(self) -> bool:
        """Hold the lock unless another session does."""
        if self._outbox.holder is None:
            self._outbox.holder = self
        return self._outbox.holder is self

    async def resume(self) -> int:
        """The position relayed so far."""
        return self._outbox.position

    async def read_pending(self, limit: int) -> list[Change]:
        """The oldest pending changes; ``ConnectionLost`` while the outbox is unreachable."""
        if not self._outbox.reachable:
            raise ConnectionLost("OperationalError")
        return self._outbox.pending[:limit]

    async def prune(self, changes: Sequence[Change]) -> None:
        """Drop relayed changes and raise the position."""
        done = {c.seq for c in changes}
        self._outbox.pending = [c for c in self._outbox.pending if c.seq not in done]
        self._outbox.position = max([self._outbox.position, *done])

    async def wait_for_commit(self, seconds: float) -> None:
        """Wait for the next commit, at most ``seconds``."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._outbox.committed.wait()
        self._outbox.committed.clear()


class Relaying:
    """An outbox, a shared cache, a bus to one near cache, and relay candidates over them."""

    def __init__(self) -> None:
        self.outbox = MemoryOutbox()
        self.shared = InMemoryProductCache()
        self.near = LruNearCache(10, 30)
        self.bus = InMemoryBus(self.near)
        self.relay = ChangeRelay(self.shared, self.bus, CacheStats())

    def runner(self) -> ChangeRelayRunner:
        return ChangeRelayRunner(
            self.outbox,
            self.relay.apply,
            verify=self.relay.verify,
            poll_interval=0.05,
            takeover_interval=0.01,
        )


async def running(*runners: ChangeRelayRunner, body: Callable[[], Awaitable[None]]) -> None:
    """Run ``body`` while the runners run; stop them after."""
    tasks = [asyncio.create_task(runner.run()) for runner in runners]
    try:
        await body()
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def test_the_active_relay_tombstones_broadcasts_and_prunes_what_commits() -> None:
    """One relay leads; a committed update reaches L2 as a tombstone and L1 as an invalidation,
    and only then leaves the outbox."""
    world = Relaying()
    world.shared.entries[5] = CachedProduct(1, b"{}")
    runner = world.runner()

    async def body() -> None:
        await until(lambda: runner.role == "active")
        world.outbox.commit(Change(1, ChangeKind.UPDATE, 5, 2, committed_at=1.0))
        await until(lambda: runner.relayed == 1)
        assert world.shared.entries[5] == CachedProduct(2, None)
        assert world.bus.sent == [((Invalidation(5, 2),), False)]
        assert world.outbox.pending == [] and world.outbox.position == 1

    await running(runner, body=body)


async def test_changes_stay_in_the_outbox_while_the_bus_is_down() -> None:
    """The broadcast fails: nothing is pruned; once the bus is back the change is relayed."""
    world = Relaying()
    world.bus.up = False
    runner = world.runner()

    async def body() -> None:
        world.outbox.commit(Change(1, ChangeKind.DELETE, 9, 4))
        await until(lambda: runner.last_error is not None)
        assert world.outbox.pending and runner.relayed == 0
        world.bus.up = True
        await until(lambda: runner.relayed == 1)
        assert world.outbox.pending == [] and runner.last_error is None

    await running(runner, body=body)


async def test_a_standby_takes_the_lead_when_the_active_session_ends() -> None:
    """Two candidates: one active, one standby; the active one's session ends (its database went
    away and came back) and one of them leads again; the change committed meanwhile is relayed."""
    world = Relaying()
    first, second = world.runner(), world.runner()

    async def body() -> None:
        await until(lambda: {first.role, second.role} == {"active", "standby"})
        world.outbox.reachable = False
        world.outbox.commit(Change(1, ChangeKind.UPDATE, 3, 2))
        await until(lambda: "OperationalError" in {first.last_error, second.last_error})
        assert "active" not in {first.role, second.role}
        world.outbox.reachable = True
        await until(lambda: first.relayed + second.relayed == 1)
        assert first.restarts == second.restarts == 0, "a lost database is no bug to restart from"

    await running(first, second, body=body)


class Monitor:
    """An ``OutboxMonitor`` whose answer the test sets."""

    def __init__(self) -> None:
        self.state = OutboxState(0.0, lock_held=False)

    async def inspect(self) -> OutboxState:
        """The state set by the test."""
        return self.state


async def test_relay_readiness_fails_only_once_no_one_held_the_lock_for_the_bound() -> None:
    """Free lock: ready at first, not ready past ``missing_after``, ready again once it is held."""
    monitor = Monitor()
    health = RelayHealth(monitor, None, missing_after=0.05)
    assert (await health.check()).ok
    await asyncio.sleep(0.06)
    late = await health.check()
    assert not late.ok and late.details["role"] == "off"
    monitor.state = OutboxState(1.5, lock_held=True)
    held = await health.check()
    assert held.ok and held.details["outbox_lag_s"] == 1.5


async def test_the_near_cache_and_these_fakes_satisfy_the_consumers_ports() -> None:
    """The consumers get what the ports promise: the LRU near cache is switchable, the fakes conform."""
    assert isinstance(LruNearCache(1, 1), SwitchableNearCache)
    assert isinstance(QueuedFeed(), InvalidationFeed)
    assert isinstance(MemoryOutbox(), ChangeOutbox) and isinstance(Monitor(), OutboxMonitor)
