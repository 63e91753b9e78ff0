"""Cache settings are validated at start with messages that name the variable."""

from __future__ import annotations

import pytest

from entrypoints.settings import ConfigError, Settings


def test_cache_settings_have_working_defaults() -> None:
    """With nothing set, caching is on with an L1 and a relay."""
    settings = Settings.from_env({})
    assert settings.cache_enabled
    assert settings.l1_size == 10_000
    assert settings.relay_enabled
    assert settings.l1_ttl < settings.cache_ttl


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("PRODUCTCORE_L1_SIZE", "-1", "PRODUCTCORE_L1_SIZE"),
        ("PRODUCTCORE_CACHE_TTL", "0", "PRODUCTCORE_CACHE_TTL"),
        ("PRODUCTCORE_CACHE_KEY_PREFIX", "has spaces", "PRODUCTCORE_CACHE_KEY_PREFIX"),
        ("PRODUCTCORE_REDIS_TIMEOUT", "soon", "PRODUCTCORE_REDIS_TIMEOUT"),
    ],
)
def test_bad_cache_settings_are_refused_by_name(variable: str, value: str, message: str) -> None:
    """A bad value stops start-up with the variable's name in the message."""
    with pytest.raises(ConfigError, match=message):
        Settings.from_env({variable: value})


def test_an_l1_that_outlives_l2_is_refused() -> None:
    """L1 entries must not live longer than L2's."""
    with pytest.raises(ConfigError, match=r"PRODUCTCORE_L1_TTL .* must not exceed PRODUCTCORE_CACHE_TTL"):
        Settings.from_env({"PRODUCTCORE_L1_TTL": "600", "PRODUCTCORE_CACHE_TTL": "300"})
