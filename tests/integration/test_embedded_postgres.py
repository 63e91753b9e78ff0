"""The embedded PostgreSQL of a data directory stops with its last user, even after one was killed."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil

# A user of the server: prints the postmaster's pid, then holds the server until its stdin closes.
USER = (
    "import sys, psycopg; from pathlib import Path; from adapters.embedded import embedded_postgres\n"
    "with embedded_postgres(Path(sys.argv[1])) as url:\n"
    "    psycopg.connect(url).close()\n"
    "    print((Path(sys.argv[1]) / 'postmaster.pid').read_text().split()[0], flush=True)\n"
    "    sys.stdin.read()\n"
)


def _user(data_dir: Path) -> tuple[subprocess.Popen[str], int]:
    process = subprocess.Popen(
        [sys.executable, "-c", USER, str(data_dir)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    return process, int(process.stdout.readline())


def test_a_killed_user_does_not_keep_the_server_running_forever(tmp_path: Path) -> None:
    """A user dies by SIGKILL; the next user reuses the server and, leaving last, stops it."""
    killed, postmaster = _user(tmp_path / "pg")
    killed.send_signal(signal.SIGKILL)
    killed.wait(timeout=15)
    assert psutil.pid_exists(postmaster)  # nobody stopped it
    survivor, reused = _user(tmp_path / "pg")
    assert reused == postmaster
    assert survivor.stdin is not None
    survivor.stdin.close()
    assert survivor.wait(timeout=30) == 0
    try:
        psutil.Process(postmaster).wait(timeout=15)
    except psutil.NoSuchProcess:
        pass
    except psutil.TimeoutExpired:
        psutil.Process(postmaster).kill()
        raise AssertionError("the last user left but the embedded PostgreSQL kept running") from None


def test_a_server_whose_last_user_was_killed_stops_on_its_own(tmp_path: Path) -> None:
    """With its last user SIGKILLed and no one coming, the watchdog stops the embedded PostgreSQL after
    the grace period instead of leaving it running until another process adopts it."""
    from adapters.embedded.watchdog import GRACE, INTERVAL

    killed, postmaster = _user(tmp_path / "pg")
    killed.send_signal(signal.SIGKILL)
    killed.wait(timeout=15)
    started = time.monotonic()
    try:
        psutil.Process(postmaster).wait(timeout=GRACE + 20 * INTERVAL)
    except psutil.NoSuchProcess:
        pass
    except psutil.TimeoutExpired:
        psutil.Process(postmaster).kill()
        raise AssertionError("the orphaned embedded PostgreSQL kept running") from None
    print(f"\norphaned PostgreSQL stopped {time.monotonic() - started:.1f} s after its last user was killed")
