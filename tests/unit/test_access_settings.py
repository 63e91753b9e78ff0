"""Access settings are checked at start, with messages that name the variable."""

from __future__ import annotations

import pytest

from entrypoints.apikeys import WRITE, generate
from entrypoints.settings import ConfigError, Settings


def test_defaults() -> None:
    """Limits are on, 100 reads and 50 writes a minute, no keys, public reads, 64 KiB bodies."""
    settings = Settings.from_env({})
    assert settings.rate_limit_enabled
    assert (settings.rate_limit_read, settings.rate_limit_write) == ("100/minute", "50/minute")
    assert settings.rate_limit_strategy == "sliding-window-counter"
    assert settings.api_keys == ""
    assert not settings.require_key_for_reads
    assert settings.max_body_bytes == 65_536


def test_values_come_from_the_environment() -> None:
    """Every access setting is read from its PRODUCTCORE_ variable."""
    _, key = generate("ci", [WRITE])
    settings = Settings.from_env(
        {
            "PRODUCTCORE_RATE_LIMIT_ENABLED": "false",
            "PRODUCTCORE_RATE_LIMIT_READ": "10/second",
            "PRODUCTCORE_RATE_LIMIT_WRITE": "5 per minute",
            "PRODUCTCORE_RATE_LIMIT_STRATEGY": "moving-window",
            "PRODUCTCORE_TRUSTED_PROXIES": "10.0.0.0/8,192.0.2.1",
            "PRODUCTCORE_API_KEYS": key.config_entry,
            "PRODUCTCORE_REQUIRE_KEY_FOR_READS": "true",
            "PRODUCTCORE_MAX_BODY_BYTES": "2048",
        }
    )
    assert not settings.rate_limit_enabled
    assert settings.rate_limit_write == "5 per minute"
    assert settings.rate_limit_strategy == "moving-window"
    assert settings.require_key_for_reads
    assert settings.max_body_bytes == 2048


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("RATE_LIMIT_READ", "lots", "PRODUCTCORE_RATE_LIMIT_READ='lots' is not a rate limit"),
        (
            "RATE_LIMIT_WRITE",
            "50/fortnight",
            "PRODUCTCORE_RATE_LIMIT_WRITE='50/fortnight' is not a rate limit",
        ),
        ("RATE_LIMIT_STRATEGY", "fixed-window", "PRODUCTCORE_RATE_LIMIT_STRATEGY"),
        ("TRUSTED_PROXIES", "10.0.0.0/8,gateway", "PRODUCTCORE_TRUSTED_PROXIES: 'gateway'"),
        ("API_KEYS", "ci:write:plain:secret", "PRODUCTCORE_API_KEYS: entry 1"),
        ("MAX_BODY_BYTES", "10", "PRODUCTCORE_MAX_BODY_BYTES"),
        ("RATE_LIMIT_KEY_PREFIX", "has space", "PRODUCTCORE_RATE_LIMIT_KEY_PREFIX"),
    ],
)
def test_bad_values_name_their_variable(variable: str, value: str, message: str) -> None:
    """A bad value stops the start with a message naming the variable."""
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        Settings.from_env({f"PRODUCTCORE_{variable}": value})


def test_a_bad_key_entry_does_not_echo_the_value() -> None:
    """The error for a malformed key entry never repeats what was configured (it may be a secret)."""
    with pytest.raises(ConfigError) as error:
        Settings.from_env({"PRODUCTCORE_API_KEYS": "ci:write:plain:hunter2-the-secret"})
    assert "hunter2" not in str(error.value)
