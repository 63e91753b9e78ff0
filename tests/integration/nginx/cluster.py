"""nginx, rendered from deploy/nginx/, in front of ``productcore serve`` processes on loopback ports."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from itertools import count
from pathlib import Path
from string import Template
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[3]
TEMPLATE = REPO / "deploy" / "nginx" / "productcore.conf.template"
PORTS_VARIABLE = "PRODUCTCORE_TEST_PORTS"
"""``first-last``: the TCP ports these tests may listen on (else the system picks free ones)."""
START_BOUND = 90.0
"""Seconds an instance may take to become ready: generous, for the suite's busiest moments."""

_next_port = count()


def free_port() -> int:
    """A loopback TCP port nobody listens on, from ``PRODUCTCORE_TEST_PORTS`` if that is set."""
    first, _, last = os.environ.get(PORTS_VARIABLE, "").partition("-")
    if not first:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            return int(sock.getsockname()[1])
    low, high = int(first), int(last)
    offset = os.getpid() % (high - low + 1)
    for _ in range(high - low + 1):
        port = low + (offset + next(_next_port)) % (high - low + 1)
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {PORTS_VARIABLE}={first}-{last}")


def nginx_binary() -> str:
    """The nginx executable (Debian's nginx-light, which .ci/run installs when it is missing)."""
    found = shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if Path(p).exists()), None)
    if found is None:
        raise RuntimeError("nginx is not installed: apt-get install nginx-light (.ci/run does)")
    return found


def _wait(what: str, ready: Any, process: subprocess.Popen[bytes], log: Path, bound: float) -> None:
    deadline = time.monotonic() + bound
    while not ready():
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} not ready within {bound:.0f} s:\n{log.read_text()[-3000:]}")
        time.sleep(0.1)


def _accepts(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return False
    return True


@dataclass
class Instance:
    """One ``productcore serve`` process (in a session of its own, so a kill takes all its processes)."""

    port: int
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def address(self) -> str:
        """host:port, as nginx's ``$upstream_addr`` names it."""
        return f"127.0.0.1:{self.port}"

    def client(self, **options: Any) -> httpx.Client:
        """An HTTP client talking to this instance directly."""
        return httpx.Client(base_url=f"http://{self.address}", timeout=30, **options)

    def ready(self) -> bool:
        """True once ``/health/ready`` answers 200."""
        try:
            return httpx.get(f"http://{self.address}/health/ready", timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    def kill(self) -> None:
        """SIGKILL every process of the instance, as a crash or the OOM killer would."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def terminate(self) -> None:
        """SIGTERM to the main process only, as Docker, Kubernetes and systemd's ``KillMode=mixed`` do:
        the graceful stop (drain, then close); wait for the exit."""
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=60)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it has not exited within 30 s."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()


def start_instance(env: dict[str, str], workdir: Path, port: int | None = None, workers: int = 1) -> Instance:
    """Start ``productcore serve`` on ``port`` (else a free loopback port) with its own data directory."""
    port = port or free_port()
    data = workdir / f"instance-{port}"
    data.mkdir(parents=True, exist_ok=True)
    log = data / "serve.log"
    executable = Path(sys.executable).with_name("productcore")
    command = [str(executable) if executable.exists() else "productcore", "serve"]
    with log.open("wb") as out:
        process = subprocess.Popen(
            [*command, "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)],
            env={**env, "PRODUCTCORE_DATA_DIR": str(data)},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return Instance(port, process, log)


@dataclass
class Nginx:
    """nginx serving deploy/nginx/productcore.conf.template, rendered for loopback ports."""

    port: int
    status_port: int
    access_log: Path
    process: subprocess.Popen[bytes]
    instances: list[Instance] = field(default_factory=list)

    def client(self, **options: Any) -> httpx.Client:
        """An HTTP client talking to nginx (``local_address`` picks the client's source address)."""
        local = options.pop("local_address", None)
        transport = httpx.HTTPTransport(local_address=local) if local else None
        return httpx.Client(
            base_url=f"http://127.0.0.1:{self.port}", timeout=30, transport=transport, **options
        )

    def logged(self, *request_ids: str) -> dict[str, dict[str, Any]]:
        """The JSON access log by request id, once it has the given ones (nginx writes a line after
        the response is sent, so a client can be a moment ahead of it)."""
        deadline = time.monotonic() + 10
        while True:
            lines = self.access_log.read_text().splitlines()
            entries = {entry["request_id"]: entry for entry in map(json.loads, lines)}
            if all(request_id in entries for request_id in request_ids):
                return entries
            assert time.monotonic() < deadline, "nginx did not log the requests within 10 s"
            time.sleep(0.05)


def render(listen: int, status_listen: int, upstreams: list[int], access_log: Path) -> str:
    """The deployed template with only its placeholders filled, as envsubst fills them."""
    text = Template(TEMPLATE.read_text()).safe_substitute(
        NGINX_LISTEN=f"127.0.0.1:{listen}",
        NGINX_STATUS_LISTEN=f"127.0.0.1:{status_listen}",
        NGINX_UPSTREAM_SERVERS=" ".join(f"server 127.0.0.1:{port};" for port in upstreams),
        NGINX_ACCESS_LOG=str(access_log),
    )
    assert not re.search(r"\$\{NGINX_", text), "a placeholder of the template was left unfilled"
    return text


def _main_config(workdir: Path) -> str:
    """The part the platform provides (the official image's nginx.conf), with paths under ``workdir``."""
    user = "user root root;" if os.geteuid() == 0 else ""
    temp = "\n".join(f"    {kind}_temp_path {workdir / kind};" for kind in ("client_body", "proxy"))
    return f"""{user}
daemon off;
worker_processes 2;
pid {workdir / "nginx.pid"};
error_log {workdir / "error.log"} info;
events {{ worker_connections 1024; }}
http {{
{temp}
    include {workdir / "productcore.conf"};
}}
"""


@contextmanager
def start_nginx(workdir: Path, instances: list[Instance]) -> Iterator[Nginx]:
    """Run nginx in front of ``instances`` until the block ends."""
    workdir.mkdir(parents=True, exist_ok=True)
    port, status_port = free_port(), free_port()
    access_log = workdir / "access.log"
    (workdir / "productcore.conf").write_text(
        render(port, status_port, [i.port for i in instances], access_log)
    )
    (workdir / "nginx.conf").write_text(_main_config(workdir))
    error_log = workdir / "error.log"
    command = [nginx_binary(), "-p", str(workdir), "-c", str(workdir / "nginx.conf"), "-e", str(error_log)]
    check = subprocess.run([*command, "-t"], capture_output=True, text=True, timeout=30)
    assert check.returncode == 0, check.stderr
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait("nginx", lambda: _accepts(port), process, error_log, 30)
        yield Nginx(port, status_port, access_log, process, instances)
    finally:
        process.send_signal(signal.SIGQUIT)  # graceful: finish requests, then exit
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=30)


@contextmanager
def cluster(env: dict[str, str], workdir: Path, size: int = 3) -> Iterator[Nginx]:
    """``size`` ready instances on one database and one Redis, behind nginx; all stopped afterwards."""
    with ExitStack() as stack:
        instances: list[Instance] = []
        # Whatever the list holds at the end is stopped: a test that replaces an instance (a restart)
        # puts the new one in its place, and it is stopped too.
        stack.callback(lambda: [instance.stop() for instance in instances])
        for _ in range(size):
            instances.append(start_instance(env, workdir))
        for instance in instances:
            _wait(f"instance {instance.address}", instance.ready, instance.process, instance.log, START_BOUND)
        yield stack.enter_context(start_nginx(workdir / "nginx", instances))
