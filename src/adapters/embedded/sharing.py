"""A server shared by every process that opens one directory: the first starts it, the last stops it.

The embedded PostgreSQL does this for itself (a pid list in its data directory under a file lock);
this is the same bookkeeping for servers that have none, with two additions: a user that died
without leaving (SIGKILL) is pruned by whoever comes next, and a server that died is restarted.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Self

import fasteners
import psutil

log = logging.getLogger(__name__)

STATE_FILE = "server.json"
LOCK_FILE = "server.lock"
# fasteners' lock is per process (fcntl record locks), so threads of one process queue here first.
_thread_lock = threading.Lock()


@dataclass(frozen=True)
class Running:
    """A process identified by pid and start time, so a reused pid is not mistaken for it."""

    pid: int
    created: float

    @classmethod
    def of(cls, pid: int) -> Self:
        """The live process ``pid``."""
        return cls(pid, psutil.Process(pid).create_time())

    def alive(self) -> bool:
        """True while this very process exists and is not a zombie."""
        try:
            process = psutil.Process(self.pid)
            same = abs(process.create_time() - self.created) < 0.01
            return same and bool(process.status() != psutil.STATUS_ZOMBIE)
        except psutil.Error:
            return False


@dataclass(frozen=True)
class Server(Running):
    """A shared server: its process and the port it listens on."""

    port: int


@dataclass(frozen=True)
class User(Running):
    """One open handle on the server (a process may hold several)."""

    token: str = field(default_factory=lambda: uuid.uuid4().hex)


@dataclass
class State:
    """What ``server.json`` holds: the server, if one was started, and its users."""

    server: Server | None = None
    users: list[User] = field(default_factory=list)

    @classmethod
    def read(cls, path: Path) -> State:
        """The state in ``path``; an empty one if it is missing or unreadable."""
        try:
            raw = json.loads(path.read_text())
            server = Server(**raw["server"]) if raw.get("server") else None
            return cls(server, [User(**user) for user in raw.get("users", [])])
        except (OSError, ValueError, TypeError, KeyError):
            return cls()

    def write(self, path: Path) -> None:
        """Replace ``path`` atomically with this state."""
        scratch = path.with_suffix(f".{os.getpid()}.tmp")
        server = asdict(self.server) if self.server is not None else None
        scratch.write_text(json.dumps({"server": server, "users": [asdict(user) for user in self.users]}))
        scratch.replace(path)

    def prune(self) -> None:
        """Forget users that died without leaving."""
        gone = [user for user in self.users if not user.alive()]
        if gone:
            log.info("forgetting %d dead user(s) of the shared server: %s", len(gone), [u.pid for u in gone])
        self.users = [user for user in self.users if user not in gone]


@dataclass(frozen=True)
class Lifecycle:
    """How to start a server (on a preferred port, or any), check that it answers, and stop it;
    ``watch`` starts what stops the server should every user die without leaving."""

    start: Callable[[int | None], Server]
    answers: Callable[[Server], bool]
    stop: Callable[[Server], None]
    watch: Callable[[Server], None] | None = None


@contextmanager
def _locked(directory: Path) -> Iterator[Path]:
    with _thread_lock, fasteners.InterProcessLock(str(directory / LOCK_FILE)):
        yield directory / STATE_FILE


@contextmanager
def shared_server(directory: Path, lifecycle: Lifecycle) -> Iterator[Server]:
    """Yield the server of ``directory``, starting it if no live one answers; the last user stops it."""
    directory.mkdir(parents=True, exist_ok=True)
    with _locked(directory) as path:
        state = State.read(path)
        state.prune()
        server = state.server
        if server is None or not server.alive() or not lifecycle.answers(server):
            if server is not None and server.alive():
                lifecycle.stop(server)  # alive but not answering: it cannot be trusted
            server = lifecycle.start(server.port if server is not None else None)
            state.server = server
            if lifecycle.watch is not None:
                lifecycle.watch(server)
        me = User.of(os.getpid())
        state.users.append(me)
        state.write(path)
        log.info("shared server pid %s on port %s: %d user(s)", server.pid, server.port, len(state.users))
    try:
        yield server
    finally:
        if os.getpid() == me.pid:  # a forked child inherits this frame but not the handle
            _leave(directory, me, lifecycle)


def _leave(directory: Path, me: User, lifecycle: Lifecycle) -> None:
    with _locked(directory) as path:
        state = State.read(path)
        state.users = [user for user in state.users if user.token != me.token]
        state.prune()
        if not state.users and state.server is not None:
            log.info("last user left: stopping the shared server pid %s", state.server.pid)
            if state.server.alive():
                lifecycle.stop(state.server)
            state.server = None
        state.write(path)
