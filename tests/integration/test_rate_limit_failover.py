"""When Redis fails, the limiter falls back to a per-process memory limiter: logged, counted, never a 500."""

from __future__ import annotations

import socket
import uuid
from contextlib import ExitStack

import msgspec
from litestar.testing import AsyncTestClient
from prometheus_client import REGISTRY

from adapters.embedded.redis import embedded_redis
from adapters.ratelimit import Policy, open_limiter
from entrypoints.http import create_app
from entrypoints.settings import Settings
from tests.integration.conftest import NewProduct
from tests.logs import captured_logs, rendered


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def counter(name: str) -> float:
    """The current value of one of the rate limiter's Prometheus counters."""
    return REGISTRY.get_sample_value(name) or 0.0


FALLBACKS = "productcore_rate_limit_fallback_decisions_total"
FAILURES = "productcore_rate_limit_store_failures_total"


async def test_unreachable_redis_fails_open_to_a_per_process_limiter(
    settings: Settings, new_product: NewProduct
) -> None:
    """With Redis refusing connections, reads succeed, still within a local budget, logged and counted."""
    product = await new_product()
    broken = msgspec.structs.replace(
        settings,
        redis_url=f"redis://127.0.0.1:{closed_port()}/0",
        rate_limit_read="3/minute",
        rate_limit_key_prefix=f"test-{uuid.uuid4().hex[:12]}",
    )
    app = create_app(broken)
    fallbacks, failures = counter(FALLBACKS), counter(FAILURES)
    with captured_logs() as records:
        async with AsyncTestClient(app=app) as client:
            responses = [await client.get(f"/products/{product.id}") for _ in range(4)]
            metrics = (await client.get("/metrics")).text
    assert [r.status_code for r in responses] == [200, 200, 200, 429]
    assert responses[0].headers["ratelimit"].startswith('"read";r=2;')
    assert counter(FALLBACKS) - fallbacks == 4
    assert counter(FAILURES) - failures >= 1
    assert f"{FALLBACKS} " in metrics
    warnings = [r for r in records if r.name == "productcore.ratelimit" and r.levelname == "WARNING"]
    assert len(warnings) == 1, rendered(records)
    assert "unreachable" in warnings[0].getMessage()


async def test_redis_stopping_mid_run_costs_no_request(settings: Settings, new_product: NewProduct) -> None:
    """Reads keep succeeding when the shared Redis stops between two requests."""
    product = await new_product()
    with ExitStack() as redis_server:
        url = redis_server.enter_context(embedded_redis())
        app = create_app(msgspec.structs.replace(settings, redis_url=url, rate_limit_read="100/minute"))
        async with AsyncTestClient(app=app) as client:
            before = counter(FALLBACKS)
            first = await client.get(f"/products/{product.id}")
            assert counter(FALLBACKS) == before, "a healthy Redis decides by itself"
            redis_server.close()
            after = [await client.get(f"/products/{product.id}") for _ in range(3)]
    assert first.status_code == 200
    assert first.headers["ratelimit"].startswith('"read";r=99;')
    assert [r.status_code for r in after] == [200, 200, 200]
    assert after[-1].headers["ratelimit"].startswith('"read";r=97;'), "the local budget starts afresh"
    assert counter(FALLBACKS) == before + 3


async def test_the_limiter_returns_to_redis_when_it_answers_again() -> None:
    """After a failure the shared store is retried; once it answers, budgets are shared again."""
    policy = Policy.parse("read", "10/minute")
    identity = f"addr:{uuid.uuid4().hex}"
    with embedded_redis() as url:
        port = int(url.rsplit(":", 1)[1].split("/")[0])
    async with open_limiter(url, retry_after=0.0) as limiter:
        verdict = await limiter.hit(policy, identity)
        assert limiter.degraded
        assert verdict.allowed
        with embedded_redis(port=port):
            shared = await limiter.hit(policy, identity)
            assert not limiter.degraded
            assert shared.allowed
            assert shared.remaining == 9, "the shared budget starts fresh: the fallback hit stayed local"
