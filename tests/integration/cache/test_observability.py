"""Readiness details and metrics show the cache layer: subscriber state, relay role and lag, counters."""

from __future__ import annotations

from tests.integration.cache.conftest import Cluster, eventually


async def test_readiness_reports_the_subscriber_and_the_relay(cluster: Cluster) -> None:
    """``/health/ready`` carries the subscription state, the relay's role and its lag."""
    a = await cluster.start("a")

    async def relay_active() -> bool:
        return a.relay is not None and a.relay.role == "active"

    await eventually(relay_active, within=3.0)
    response = await a.http.get("/health/ready")
    assert response.status_code == 200
    checks = response.json()["checks"]
    assert checks["invalidation_subscriber"]["details"]["state"] == "connected"
    assert checks["invalidation_subscriber"]["details"]["near_cache"] == "on"
    assert checks["relay"]["details"]["role"] == "active"
    assert checks["relay"]["details"]["outbox_lag_s"] >= 0
    assert checks["cache"]["details"]["breaker"] == "closed"


async def test_metrics_count_hits_per_tier_and_relay_lag(cluster: Cluster) -> None:
    """``/metrics`` exposes lookups by tier and result, refused fills, invalidations and relay lag."""
    a = await cluster.start("a")
    [product_id] = cluster.insert()
    await a.version(product_id)
    await a.version(product_id)
    text = (await a.http.get("/metrics")).text
    for name in (
        'productcore_cache_lookups_total{result="hit",tier="l1"}',
        'productcore_cache_lookups_total{result="miss",tier="l2"}',
        'productcore_cache_fills_rejected_total{tier="l2"}',
        "productcore_cache_invalidations_applied_total",
        "productcore_cache_relay_lag_seconds",
        "productcore_cache_db_reads_total",
    ):
        assert name in text, name
    assert a.stats.l1_hits == 1
