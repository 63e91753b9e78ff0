"""Configuration from ``PRODUCTCORE_*`` environment variables, validated once at start."""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Literal

import msgspec
import platformdirs
import psycopg
from psycopg.conninfo import conninfo_to_dict

PREFIX = "PRODUCTCORE_"
TEST_PREFIX = "PRODUCTCORE_TEST_"
"""Variables the test suite reads for itself (tests/servers.py); never settings, never refused."""

Seconds = Annotated[float, msgspec.Meta(gt=0, le=3600)]
PoolSize = Annotated[int, msgspec.Meta(ge=1, le=1000)]


class ConfigError(ValueError):
    """A setting has a value the service cannot use; the message names the variable."""


class Settings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Every setting, named as its environment variable without the ``PRODUCTCORE_`` prefix."""

    database_url: str | None = None
    db_pool_min: Annotated[int, msgspec.Meta(ge=0, le=1000)] = 2
    db_pool_max: PoolSize = 10
    db_pool_timeout: Seconds = 3.0
    db_connect_timeout: Seconds = 5.0
    db_statement_timeout: Seconds = 10.0
    db_breaker_failures: Annotated[int, msgspec.Meta(ge=1, le=1000)] = 3
    db_breaker_reset: Seconds = 0.5
    redis_url: str | None = None
    cache_enabled: bool = True
    cache_key_prefix: Annotated[str, msgspec.Meta(pattern="^[A-Za-z0-9:._-]{1,64}$")] = "productcore:cache"
    cache_ttl: Seconds = 3600.0
    cache_negative_ttl: Seconds = 5.0
    cache_lease_ttl: Annotated[float, msgspec.Meta(gt=0, le=60)] = 1.0
    cache_lease_wait: Annotated[float, msgspec.Meta(ge=0, le=60)] = 0.5
    cache_ping_interval: Annotated[float, msgspec.Meta(ge=0.05, le=60)] = 1.0
    l1_size: Annotated[int, msgspec.Meta(ge=0, le=10_000_000)] = 10_000
    l1_ttl: Seconds = 30.0
    redis_timeout: Annotated[float, msgspec.Meta(gt=0, le=10)] = 0.25
    redis_breaker_failures: Annotated[int, msgspec.Meta(ge=1, le=1000)] = 3
    redis_breaker_reset: Seconds = 2.0
    relay_enabled: bool = True
    relay_batch: Annotated[int, msgspec.Meta(ge=1, le=100_000)] = 1000
    relay_poll_interval: Seconds = 1.0
    relay_missing_after: Seconds = 30.0
    migrate_on_start: bool = True
    data_dir: str = ""
    host: Annotated[str, msgspec.Meta(min_length=1)] = "127.0.0.1"
    port: Annotated[int, msgspec.Meta(ge=0, le=65535)] = 8000
    exact_count_limit: Annotated[int, msgspec.Meta(ge=0)] = 1_000
    require_if_match: bool = False
    log_level: Annotated[str, msgspec.Meta(pattern="^(?i:debug|info|warning|error)$")] = "info"
    log_format: Literal["text", "json"] = "text"
    access_log: bool = True
    shutdown_drain: Annotated[float, msgspec.Meta(ge=0, le=300)] = 3.0
    shutdown_timeout: Annotated[float, msgspec.Meta(gt=0, le=3600)] = 20.0
    rate_limit_enabled: bool = True
    rate_limit_read: str = "100/minute"
    rate_limit_write: str = "50/minute"
    rate_limit_strategy: Literal["sliding-window-counter", "moving-window"] = "sliding-window-counter"
    rate_limit_key_prefix: Annotated[str, msgspec.Meta(pattern="^[A-Za-z0-9:._-]{1,64}$")] = (
        "productcore:ratelimit"
    )
    rate_limit_timeout: Annotated[float, msgspec.Meta(gt=0, le=10)] = 0.25
    trusted_proxies: str = ""
    api_keys: str = ""
    require_key_for_reads: bool = False
    max_body_bytes: Annotated[int, msgspec.Meta(ge=1024, le=100_000_000)] = 65_536
    max_header_bytes: Annotated[int, msgspec.Meta(ge=1024, le=1_000_000)] = 8_192
    max_query_bytes: Annotated[int, msgspec.Meta(ge=256, le=1_000_000)] = 2_048

    def __post_init__(self) -> None:
        _check_cache_settings(self)
        if self.db_pool_min > self.db_pool_max:
            raise ConfigError(
                f"{PREFIX}DB_POOL_MIN ({self.db_pool_min}) must not exceed "
                f"{PREFIX}DB_POOL_MAX ({self.db_pool_max})"
            )
        if self.database_url is not None:
            _check_database_url(self.database_url)
        if self.redis_url is not None:
            _check_redis_url(self.redis_url)
        _check_access_settings(self)

    @property
    def data_path(self) -> Path:
        """Where embedded servers keep their data (a per-user directory unless configured)."""
        return Path(self.data_dir) if self.data_dir else Path(platformdirs.user_data_dir("productcore"))

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: object) -> Settings:
        """Read settings from ``environ`` (default: the process environment), then apply overrides.

        Raises:
            ConfigError: a variable is unknown or has a value of the wrong kind or range.
        """
        environ = os.environ if environ is None else environ
        known = set(cls.__struct_fields__)
        raw: dict[str, object] = {}
        unknown: list[str] = []
        for key, value in environ.items():
            if not key.startswith(PREFIX) or key.startswith(TEST_PREFIX):
                continue
            field = key.removeprefix(PREFIX).lower()
            if field not in known:
                unknown.append(key)
            elif value != "":  # VAR= (as compose and systemd files write it) means "not set"
                raw[field] = value
        if unknown:
            raise ConfigError("; ".join(_unknown_variable(key, known) for key in sorted(unknown)))
        raw.update(overrides)
        try:
            return msgspec.convert(raw, cls, strict=False)
        except msgspec.ValidationError as error:
            raise ConfigError(_name_variable(str(error), raw)) from None


def _unknown_variable(key: str, known: set[str]) -> str:
    """Say that ``key`` is no setting, naming the closest one (a typo must not fall back to a default)."""
    field = key.removeprefix(PREFIX).lower()
    close = difflib.get_close_matches(field, sorted(known), n=1)
    hint = f"did you mean {PREFIX}{close[0].upper()}?" if close else "see docs/configuration.md"
    return f"{key} is not a known setting ({hint})"


def _name_variable(message: str, raw: Mapping[str, object]) -> str:
    text, _, where = message.partition(" - at `$.")
    if not where:
        return message if message.startswith(PREFIX) else f"invalid configuration: {message}"
    field = where.rstrip("`")
    return f"{PREFIX}{field.upper()}={raw.get(field)!r} is invalid: {text}"


def _check_database_url(url: str) -> None:
    """Reject a database URL that is neither a ``postgresql://`` URL nor libpq conninfo."""
    scheme, separator, _ = url.partition("://")
    if separator and scheme not in ("postgresql", "postgres"):
        raise ConfigError(f"{PREFIX}DATABASE_URL must start with postgresql:// (not {scheme}://)")
    try:
        parts = conninfo_to_dict(url)
    except psycopg.ProgrammingError as error:
        reason = str(error).strip()
        raise ConfigError(f"{PREFIX}DATABASE_URL is not a PostgreSQL URL or conninfo: {reason}") from None
    port = str(parts.get("port") or "5432")
    if not all(p.isdigit() and int(p) <= 65535 for p in port.split(",")):
        raise ConfigError(f"{PREFIX}DATABASE_URL has an invalid port {port!r}")


def _check_redis_url(url: str) -> None:
    """Reject a Redis URL the client could not use (scheme, port; each node of a cluster URL)."""
    from redis.asyncio.connection import parse_url

    from adapters.redis.cluster import is_cluster_url, parse_cluster_url

    try:
        parse_cluster_url(url) if is_cluster_url(url) else parse_url(url)
    except ValueError as error:
        raise ConfigError(f"{PREFIX}REDIS_URL is invalid: {error}") from None


def _check_access_settings(settings: Settings) -> None:
    """Reject rate limits, proxy lists and API keys the HTTP gate could not use."""
    from adapters.ratelimit import Policy
    from entrypoints.apikeys import ApiKeyConfigError, parse_keys
    from entrypoints.http.client_address import parse_networks

    for name in ("rate_limit_read", "rate_limit_write"):
        try:
            Policy.parse(name, getattr(settings, name))
        except ValueError:
            raise ConfigError(
                f"{PREFIX}{name.upper()}={getattr(settings, name)!r} is not a rate limit such as 100/minute"
            ) from None
    try:
        parse_networks(settings.trusted_proxies)
    except ValueError as error:
        raise ConfigError(f"{PREFIX}TRUSTED_PROXIES: {error}") from None
    try:
        parse_keys(settings.api_keys)
    except ApiKeyConfigError as error:
        raise ConfigError(f"{PREFIX}API_KEYS: {error}") from None


def _check_cache_settings(settings: Settings) -> None:
    """Reject cache lifetimes that contradict each other."""
    for name in ("l1_ttl", "cache_negative_ttl"):
        if getattr(settings, name) > settings.cache_ttl:
            raise ConfigError(
                f"{PREFIX}{name.upper()} ({getattr(settings, name)}) must not exceed "
                f"{PREFIX}CACHE_TTL ({settings.cache_ttl})"
            )
