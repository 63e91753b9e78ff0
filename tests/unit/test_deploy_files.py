"""The deployment files agree with the service: settings they set exist, limits and timeouts match."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from entrypoints.settings import PREFIX, Settings

ROOT = Path(__file__).resolve().parents[2]
KUBERNETES = ROOT / "deploy" / "kubernetes"
NGINX = (ROOT / "deploy" / "nginx" / "productcore.conf.template").read_text()
DEFAULTS = Settings.from_env({})


def _yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def _kubernetes(kind: str) -> dict[str, Any]:
    documents = [_yaml(path) for path in KUBERNETES.glob("*.yaml") if path.name != "kustomization.yaml"]
    (found,) = (d for d in documents if d["kind"] == kind)
    return found


def _nginx(directive: str) -> str:
    match = re.search(rf"^\s*{directive}\s+([^;]+);", NGINX, re.MULTILINE)
    assert match, directive
    return match.group(1)


def _bytes(size: str) -> int:
    units = {"k": 1024, "m": 1024**2}
    return int(size[:-1]) * units[size[-1]] if size[-1] in units else int(size)


def _seconds(value: str) -> float:
    return float(value.removesuffix("s"))


def _configured_variables() -> dict[str, set[str]]:
    compose = _yaml(ROOT / "compose.yaml")
    dockerfile = (ROOT / "Dockerfile").read_text()
    return {
        "compose.yaml (api)": set(compose["x-api-environment"]),
        "configmap.yaml": set(_kubernetes("ConfigMap")["data"]),
        "secret.yaml": set(_kubernetes("Secret")["stringData"]),
        "Dockerfile": set(re.findall(r"\b(PRODUCTCORE_[A-Z0-9_]+)=", dockerfile)),
    }


@pytest.mark.parametrize("source", sorted(_configured_variables()))
def test_every_configured_variable_is_a_setting(source: str) -> None:
    """Each PRODUCTCORE_* variable a deployment file sets is a setting (an unknown one stops the start)."""
    variables = _configured_variables()[source]
    assert variables
    Settings.from_env(dict.fromkeys(variables, ""))


def test_the_kustomization_lists_every_manifest() -> None:
    """kustomization.yaml names exactly the manifests in its directory."""
    listed = set(_yaml(KUBERNETES / "kustomization.yaml")["resources"])
    assert listed == {p.name for p in KUBERNETES.glob("*.yaml")} - {"kustomization.yaml"}


def test_nginx_limits_are_the_apps_defaults() -> None:
    """nginx refuses bodies over the app's limit, and no header line the app would accept."""
    assert _bytes(_nginx("client_max_body_size")) == DEFAULTS.max_body_bytes
    assert _bytes(_nginx("client_body_buffer_size")) >= DEFAULTS.max_body_bytes
    _count, size = _nginx("large_client_header_buffers").split()
    assert _bytes(size) >= DEFAULTS.max_header_bytes
    assert f"larger than {DEFAULTS.max_body_bytes} bytes" in NGINX


def test_nginx_waits_longer_for_an_answer_than_the_app_may_take() -> None:
    """proxy_read_timeout exceeds the pool wait plus the statement timeout, so nginx never gives up
    (and retries a read elsewhere) while the app is still within its own bounds."""
    assert _seconds(_nginx("proxy_read_timeout")) > DEFAULTS.db_pool_timeout + DEFAULTS.db_statement_timeout


def test_writes_are_never_retried_after_a_timeout() -> None:
    """In the write location nginx moves to another instance after a connection error only."""
    write_block = NGINX[NGINX.index("location @write") :]
    assert re.search(r"proxy_next_upstream\s+error;", write_block[: write_block.index("}")])


def test_the_trusted_proxy_in_compose_is_nginx() -> None:
    """The api replicas believe X-Forwarded-For from nginx's fixed address, and from nothing else."""
    compose = _yaml(ROOT / "compose.yaml")
    nginx_address = compose["services"]["nginx"]["networks"]["backend"]["ipv4_address"]
    assert compose["x-api-environment"][f"{PREFIX}TRUSTED_PROXIES"] == nginx_address
    assert compose["services"]["api"]["deploy"]["replicas"] == 3


def test_compose_redis_evicts_and_never_persists() -> None:
    """Redis in compose runs as docs/caching.md requires: allkeys-lru, no snapshots, no append-only file."""
    command = _yaml(ROOT / "compose.yaml")["services"]["redis"]["command"]
    options = dict(zip(command[1::2], command[2::2], strict=True))
    assert options["--maxmemory-policy"] == "allkeys-lru"
    assert (options["--save"], options["--appendonly"]) == ("", "no")
    assert "--maxmemory" in options


def test_the_pod_outlives_its_pause_and_in_flight_requests() -> None:
    """terminationGracePeriodSeconds covers the preStop pause plus the longest request the app allows."""
    pod = _kubernetes("Deployment")["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    pause = float(container["lifecycle"]["preStop"]["exec"]["command"][-1])
    longest_request = DEFAULTS.db_pool_timeout + DEFAULTS.db_statement_timeout
    assert pod["terminationGracePeriodSeconds"] >= pause + longest_request + 5
    assert container["readinessProbe"]["httpGet"]["path"] == "/health/ready"
    assert container["livenessProbe"]["httpGet"]["path"] == "/health/live"
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert pod["securityContext"]["runAsNonRoot"] is True
