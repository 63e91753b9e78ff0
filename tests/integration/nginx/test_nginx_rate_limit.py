"""Behind nginx the read budget belongs to the real client address and is shared by every instance."""

from __future__ import annotations

import re
import uuid
from collections import Counter
from collections.abc import Iterator

import pytest

from tests.integration.helpers import assert_problem
from tests.integration.nginx.cluster import Nginx, cluster
from tests.integration.nginx.conftest import InstanceEnv

BUDGET = 30
"""Reads per minute per client; the moving window makes it an exact count over any 60 seconds
(the sliding window counter could let a few more through if the test straddled a window edge)."""


@pytest.fixture(name="limited_cluster", scope="module")
def _limited_cluster(instance_env: InstanceEnv, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Nginx]:
    """Three instances behind nginx with a read budget of 30 a minute, budgets under a fresh prefix."""
    env = instance_env(read=f"{BUDGET}/minute", PRODUCTCORE_RATE_LIMIT_STRATEGY="moving-window")
    with cluster(env, tmp_path_factory.mktemp("nginx-limited")) as nginx:
        yield nginx


def _reads(nginx: Nginx, source: str, count: int, **headers: str) -> list[tuple[int, str]]:
    """``count`` GETs through nginx from ``source``; each one's status and the instance that answered."""
    ids = [uuid.uuid4().hex for _ in range(count)]
    with nginx.client(local_address=source) as http:
        statuses = [http.get("/products/1", headers={"X-Request-ID": rid, **headers}) for rid in ids]
    for response in statuses:
        if response.status_code == 429:
            assert_problem(response, 429)
            assert int(response.headers["retry-after"]) > 0
    log = nginx.logged(*ids)
    assert all(log[rid]["client"] == source for rid in ids)
    return [(response.status_code, log[rid]["upstream"]) for response, rid in zip(statuses, ids, strict=True)]


def test_the_budget_is_per_client_address_and_shared_by_every_instance(limited_cluster: Nginx) -> None:
    """127.0.0.2 gets exactly 30 reads however nginx spreads them over the three instances (per
    instance it would get 90); 127.0.0.3 then still has its own 30; a forged X-Forwarded-For from
    127.0.0.2 buys no fresh budget."""
    first = _reads(limited_cluster, "127.0.0.2", BUDGET + 15)
    assert [status for status, _ in first] == [200] * BUDGET + [429] * 15
    served = Counter(upstream for status, upstream in first if status == 200)
    assert set(served) == {i.address for i in limited_cluster.instances}, served

    second = _reads(limited_cluster, "127.0.0.3", BUDGET)
    assert [status for status, _ in second] == [200] * BUDGET

    forged = _reads(limited_cluster, "127.0.0.2", 3, **{"X-Forwarded-For": "127.0.0.9"})
    assert [status for status, _ in forged] == [429] * 3


def test_the_budget_left_is_reported_from_the_shared_count(limited_cluster: Nginx) -> None:
    """The RateLimit field counts down by one per read, whichever instance answers each."""
    with limited_cluster.client(local_address="127.0.0.4") as http:
        fields = [http.get("/products/2").headers["ratelimit"] for _ in range(6)]
    remaining = [int(match.group(1)) for f in fields if (match := re.search(r"\br=(\d+)", f))]
    assert remaining == [BUDGET - n for n in range(1, 7)], fields
