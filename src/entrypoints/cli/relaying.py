"""``productcore relay``: the cache relay without the HTTP API."""

from __future__ import annotations

import asyncio
import logging
import signal

import click
import msgspec

from adapters.redis.cluster import client_from_url
from entrypoints.container import Application, running
from entrypoints.settings import Settings


async def run_relay(settings: Settings, *, report_every: float = 10.0) -> None:
    """Run a relay candidate until cancelled, reporting its role and progress now and then."""
    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(message)s")
    # SIGTERM cancels this task as Ctrl-C does, so the relay and its connections close in order.
    if (task := asyncio.current_task()) is not None:
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    settings = msgspec.structs.replace(settings, relay_enabled=True, l1_size=0, migrate_on_start=False)
    if settings.cache_enabled and settings.redis_url is not None:
        # The relay's only work is writing to Redis: with none to reach at start, exit 1 (the
        # exit code table) rather than run on relaying nothing. Later outages it rides out.
        timeout = max(settings.redis_timeout, 2.0)
        client = client_from_url(settings.redis_url, socket_timeout=timeout, socket_connect_timeout=timeout)
        try:
            await client.ping()
        finally:
            await client.aclose()
    container = Application(settings=settings)
    async with running(container):
        runner = await container.gateways.relay()
        if runner is None:
            raise click.ClickException("the relay needs a cache (PRODUCTCORE_CACHE_ENABLED is false)")
        while True:
            click.echo(
                f"relay {runner.role}: {runner.relayed} changes relayed, lag {runner.lag_s:.3f}s", err=True
            )
            await asyncio.sleep(report_every)
