"""A data directory's embedded Valkey is shared by every process using it, like its PostgreSQL."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
import redis

from adapters.embedded import shared_embedded_redis

# A user of the shared server: prints its URL, then holds it until its stdin closes.
USER = (
    "import sys; from pathlib import Path; from adapters.embedded import shared_embedded_redis\n"
    "with shared_embedded_redis(Path(sys.argv[1])) as url:\n"
    "    print(url, flush=True); sys.stdin.read()\n"
)


class User:
    """A separate process holding the data directory's server."""

    def __init__(self, data_dir: Path) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", USER, str(data_dir)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        self.url = self.process.stdout.readline().strip()
        assert self.url.startswith("redis://"), f"the user failed to start (exit {self.process.poll()})"

    def leave(self) -> None:
        """Exit normally."""
        assert self.process.stdin is not None
        self.process.stdin.close()
        assert self.process.wait(timeout=15) == 0

    def kill(self) -> None:
        """Exit without any cleanup (SIGKILL), and be reaped."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=15)


def _state(data_dir: Path) -> dict:
    return json.loads((data_dir / "server.json").read_text())


def _server_pid(data_dir: Path) -> int:
    return int(_state(data_dir)["server"]["pid"])


def _answers(url: str) -> bool:
    client = redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1)
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False
    finally:
        client.close()


def _gone(pid: int, within: float = 5.0) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.05)
    return False


def _valkeys_in(data_dir: Path) -> list[psutil.Process]:
    """Valkey servers running in ``data_dir`` (a server's working directory is its data directory)."""
    found = []
    for process in psutil.process_iter(["name"]):
        try:
            if "valkey" in (process.info["name"] or "") and Path(process.cwd()) == data_dir:
                found.append(process)
        except psutil.Error:
            continue
    return found


@pytest.fixture(name="data_dir")
def _data_dir(tmp_path: Path) -> Iterator[Path]:
    """A fresh directory for one shared server; no server may be left running in it afterwards."""
    yield tmp_path
    leftovers = _valkeys_in(tmp_path)
    for process in leftovers:
        process.kill()
    assert leftovers == [], "a shared server outlived its users"


def test_a_second_process_reuses_the_server_and_it_outlives_its_starter(data_dir: Path) -> None:
    """Two processes get one server; it keeps running when its starter leaves and stops with the last user."""
    first = User(data_dir)
    pid = _server_pid(data_dir)
    second = User(data_dir)
    assert second.url == first.url
    assert _server_pid(data_dir) == pid
    assert len(_state(data_dir)["users"]) == 2
    config = redis.Redis.from_url(first.url).config_get("*")
    assert (config["maxmemory-policy"], config["save"], config["appendonly"]) == ("allkeys-lru", "", "no")
    assert int(config["maxmemory"]) > 0

    first.leave()
    assert _answers(second.url), "the starter's exit must not stop the server others use"
    second.leave()
    assert _gone(pid), "the last user to leave stops the server"
    assert _state(data_dir) == {"server": None, "users": []}


def test_a_killed_user_is_forgotten_by_the_next_one(data_dir: Path) -> None:
    """A SIGKILLed user does not keep the server alive: the users that remain or come later prune it."""
    killed, staying = User(data_dir), User(data_dir)
    pid = _server_pid(data_dir)
    killed.kill()
    staying.leave()
    assert _gone(pid), "the last live user stops the server although a dead one never left"

    alone = User(data_dir)
    pid = _server_pid(data_dir)
    alone.kill()
    assert _answers(alone.url), "with no one left to stop it, the server waits for the next user"
    later = User(data_dir)
    assert later.url == alone.url and _server_pid(data_dir) == pid, "the next user reuses it"
    assert len(_state(data_dir)["users"]) == 1
    later.leave()
    assert _gone(pid)


def test_a_dead_server_is_replaced_on_its_port(data_dir: Path) -> None:
    """When the server died, the next user starts a new one, on the old port so earlier users find it."""
    first = User(data_dir)
    dead = _server_pid(data_dir)
    psutil.Process(dead).kill()
    assert _gone(dead)
    assert not _answers(first.url)
    second = User(data_dir)
    assert second.url == first.url
    assert _server_pid(data_dir) != dead
    assert _answers(first.url)
    replacement = _server_pid(data_dir)
    first.leave()
    second.leave()
    assert _gone(replacement)


def test_processes_starting_together_start_one_server(data_dir: Path) -> None:
    """Processes that arrive at once are serialized by the lock: one starts the server, all share it."""
    users: list[User] = []
    threads = [threading.Thread(target=lambda: users.append(User(data_dir))) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({user.url for user in users}) == 1
    pid = _server_pid(data_dir)
    assert [p.pid for p in _valkeys_in(data_dir)] == [pid]
    for user in users:
        user.leave()
    assert _gone(pid)


def test_handles_within_one_process_are_counted_apart(data_dir: Path) -> None:
    """Two handles in one process share the server, which stops only when the second is closed."""
    with shared_embedded_redis(data_dir) as outer:
        pid = _server_pid(data_dir)
        with shared_embedded_redis(data_dir) as inner:
            assert inner == outer
        assert _answers(outer), "closing one handle leaves the other working"
    assert _gone(pid)


def test_a_server_whose_last_user_was_killed_stops_on_its_own(data_dir: Path) -> None:
    """With its last user SIGKILLed and no one coming, the server's watchdog stops it after the grace
    period (a process restarted within it would still adopt it), and the state forgets it."""
    from adapters.embedded.watchdog import GRACE, INTERVAL

    alone = User(data_dir)
    pid = _server_pid(data_dir)
    alone.kill()
    killed = time.monotonic()
    assert _answers(alone.url), "within the grace period the server waits for a user to come back"
    assert _gone(pid, within=GRACE + 10 * INTERVAL), "an orphaned server runs on"
    print(f"\norphaned Valkey stopped {time.monotonic() - killed:.1f} s after its last user was killed")
    deadline = time.monotonic() + 5  # the watchdog records it once the server has exited
    while _state(data_dir) != {"server": None, "users": []} and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _state(data_dir) == {"server": None, "users": []}
