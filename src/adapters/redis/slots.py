"""Batched scripts on Redis Cluster: one call per hash slot, the calls of a batch in one pipeline.

A script may only touch keys of one hash slot there. The batched scripts (lookups, fills, writes,
tombstones, rate-limit decisions) take many items, each with keys of its own slot (a hash tag per
product or per identity), so a batch is split by slot, the per-slot calls go out in one cluster
pipeline (one round trip per node, the nodes in parallel), and the replies are put back in item order.
The objects here are called like redis-py's scripts (``await script(keys=..., args=...)``), so the
callers are the same on one server and on a cluster; one server keeps its plain scripts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from redis.asyncio import RedisCluster
from redis.crc import key_slot
from redis.exceptions import NoScriptError, SlotNotCoveredError
from redis.typing import EncodableT, KeyT

from adapters.redis import scripts


@dataclass(frozen=True, slots=True)
class Layout:
    """How a batched script lays out items: KEYS holds ``keys`` per item; ARGV holds ``head`` shared
    arguments, then ``args`` per item; the reply has one element per item, or is a count (``counts``)."""

    keys: int
    head: int
    args: int
    counts: bool = False


def slot_of(key: KeyT) -> int:
    """The hash slot of a key (of its ``{tag}`` when it has one)."""
    return int(key_slot(key.encode() if isinstance(key, str) else bytes(key)))


def group_by_slot(keys: Sequence[KeyT], per_item: int) -> dict[int, list[int]]:
    """Item indexes (in order) by the hash slot of each item's first key; an item's keys share it."""
    groups: dict[int, list[int]] = {}
    for index in range(len(keys) // per_item):
        groups.setdefault(slot_of(keys[index * per_item]), []).append(index)
    return groups


Call = tuple[list[KeyT], list[EncodableT]]
"""The keys and arguments of one script call."""


def split(
    keys: Sequence[KeyT], args: Sequence[EncodableT], layout: Layout, groups: dict[int, list[int]]
) -> list[Call]:
    """The keys and arguments of one call per group, each with the shared arguments first."""
    calls = []
    for indexes in groups.values():
        call_keys: list[KeyT] = []
        call_args: list[EncodableT] = list(args[: layout.head])
        for index in indexes:
            call_keys += keys[index * layout.keys : (index + 1) * layout.keys]
            start = layout.head + index * layout.args
            call_args += args[start : start + layout.args]
        calls.append((call_keys, call_args))
    return calls


def merge(replies: Sequence[Any], groups: dict[int, list[int]], items: int) -> list[Any]:
    """The per-item replies of the groups' calls, back in item order."""
    merged: list[Any] = [None] * items
    for indexes, reply in zip(groups.values(), replies, strict=True):
        for index, value in zip(indexes, reply, strict=True):
            merged[index] = value
    return merged


class SlotScript:
    """A batched script on a cluster: split by slot, one pipeline, replies merged.

    A batch whose items share one slot is one plain script call.
    """

    def __init__(self, client: RedisCluster, text: str, layout: Layout) -> None:
        self._client = client
        self._script = client.register_script(text)
        self._layout = layout

    async def __call__(self, keys: Sequence[KeyT], args: Sequence[EncodableT]) -> Any:
        """Run the script over every item; the reply is as one call on one server would give it."""
        layout = self._layout
        groups = group_by_slot(keys, layout.keys)
        if len(groups) <= 1:
            return await self._script(keys=keys, args=args)
        replies = await self._run(list(groups), split(keys, args, layout, groups))
        if layout.counts:
            return sum(int(reply) for reply in replies)
        return merge(replies, groups, len(keys) // layout.keys)

    async def _run(self, slots: list[int], calls: list[Call]) -> list[Any]:
        """Send the calls in one pipeline; load the script where a node lacks it and send those again."""
        replies = await self._pipeline(slots, calls)
        missing = [index for index, reply in enumerate(replies) if isinstance(reply, NoScriptError)]
        if missing:
            # A node that restarted or a replica just promoted has an empty script cache.
            await self._client.script_load(self._script.script)
            again = await self._pipeline([slots[i] for i in missing], [calls[i] for i in missing])
            for index, reply in zip(missing, again, strict=True):
                replies[index] = reply
        for reply in replies:
            if isinstance(reply, Exception):
                raise reply
        return replies

    async def _pipeline(self, slots: list[int], calls: list[Call]) -> list[Any]:
        """One cluster pipeline: one round trip per node, the nodes in parallel.

        Each call names its node (from the slot map, as the slot is known already): redis-py would
        otherwise hash every key of every call again to check they share a slot (measured: that
        was a third of a 256-slot batch's time). A call sent to a node that lost the slot
        (resharding, failover) is answered MOVED and sent again by slot, as any command is.
        redis-py refuses ``pipe.evalsha`` on a cluster (keys might span slots); these do not.
        """
        pipe = self._client.pipeline()
        nodes = self._client.nodes_manager
        for slot, (call_keys, call_args) in zip(slots, calls, strict=True):
            try:
                where = {"target_nodes": nodes.get_node_from_slot(slot)}
            except SlotNotCoveredError:
                where = {}  # no slot map yet: the pipeline learns it and routes by key
            pipe.execute_command("EVALSHA", self._script.sha, len(call_keys), *call_keys, *call_args, **where)
        replies: list[Any] = await pipe.execute(raise_on_error=False)
        return replies


class ClusterLookup:
    """The lookup script of ``scripts.LOOKUP`` on a cluster, with the same keys, arguments and reply.

    The insert generation has a slot of its own, so it cannot be read inside the per-slot scripts.
    It is read (or started) after them, only when some id missed: still before the reader reads the
    database, which is what a negative entry stored under it needs. Negative entries are judged
    against it here; a stale one is looked up again as a miss, taking the lease.
    """

    def __init__(self, client: RedisCluster) -> None:
        self._client = client
        self._slots = SlotScript(client, scripts.LOOKUP_SLOT, Layout(keys=2, head=2, args=1))

    async def __call__(self, keys: Sequence[KeyT], args: Sequence[EncodableT]) -> list[Any]:
        """``keys``: generation, then entry and lease per id; ``args``: lease ms, a fresh generation,
        generation ms, then a token per id. Replies as ``scripts.LOOKUP``."""
        lease_ms, fresh, generation_ms, tokens = args[0], args[1], args[2], args[3:]
        replies: list[Any] = await self._slots(keys[1:], [lease_ms, "0", *tokens])
        if all(int(reply[0]) == 1 for reply in replies):
            return replies
        found = await self._client.set(keys[0], fresh, nx=True, px=int(generation_ms), get=True)
        generation = _text(found if found is not None else fresh)
        stale: list[int] = []
        for index, reply in enumerate(replies):
            code = int(reply[0])
            if code == 3:
                replies[index] = [3, generation]
            elif code == 5:
                if _text(reply[1]) == generation:
                    replies[index] = [2]
                else:
                    stale.append(index)
        if stale:
            stale_keys = [key for index in stale for key in keys[1 + 2 * index : 3 + 2 * index]]
            again = await self._slots(stale_keys, [lease_ms, "1", *(tokens[index] for index in stale)])
            for index, reply in zip(stale, again, strict=True):
                replies[index] = [3, generation] if int(reply[0]) == 3 else reply
        return replies


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
