"""Server processes under test: started in their own session, polled until ready, stopped by group."""

from __future__ import annotations

import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import psutil


@dataclass
class Server:
    """One contender's server: a command, its environment, and where it listens."""

    name: str
    command: list[str]
    port: int
    env: dict[str, str] = field(default_factory=dict)
    ready_path: str = "/health/ready"
    process: subprocess.Popen[bytes] | None = None
    log: IO[bytes] | None = None
    log_path: Path | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, log_dir: Path) -> None:
        """Start the command with ``env`` on top of this process's environment; output goes to a log file."""
        self.log_path = log_dir / f"{self.name.replace(' ', '_')}.log"
        self.log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            self.command,
            env=os.environ | self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_ready(self, timeout: float = 120) -> None:
        """Poll ``ready_path`` until it answers 200; fail with the log's tail if the process dies or stalls."""
        assert self.process is not None
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(self.url + self.ready_path, timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{self.name} did not become ready:\n{self.log_tail()}")
            time.sleep(0.2)

    def log_tail(self, lines: int = 30) -> str:
        if self.log_path is None:
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def tree(self) -> list[psutil.Process]:
        """The server's process and its children (workers), as running now."""
        assert self.process is not None
        root = psutil.Process(self.process.pid)
        return [root, *root.children(recursive=True)]

    def cpu_seconds(self) -> float:
        total = 0.0
        for process in self.tree():
            try:
                times = process.cpu_times()
                total += times.user + times.system
            except psutil.NoSuchProcess:
                pass
        return total

    def rss_bytes(self) -> int:
        """The whole tree's RSS (a supervisor and its workers)."""
        return sum(p.memory_info().rss for p in self.tree())

    def worker_rss_bytes(self) -> int:
        """The largest RSS of one process that serves requests: a worker, or the server itself if it has none."""
        tree = self.tree()
        workers = tree[1:] or tree
        return max(p.memory_info().rss for p in workers)

    def stop(self) -> None:
        """SIGTERM the server's process group (this server's processes only), then SIGKILL if it lingers."""
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        finally:
            if self.log is not None:
                self.log.close()
