"""Configuration from the environment: defaults, conversions, and errors that name the variable."""

import pytest

from entrypoints.settings import ConfigError, Settings


def test_defaults_need_no_environment() -> None:
    """With no variables set, there is no database URL (embedded) and sane pool sizes."""
    settings = Settings.from_env({})
    assert settings.database_url is None
    assert (settings.db_pool_min, settings.db_pool_max) == (2, 10)


def test_values_are_converted_from_text() -> None:
    """Numbers and booleans arrive as strings and are converted."""
    settings = Settings.from_env({"PRODUCTCORE_DB_POOL_MAX": "25", "PRODUCTCORE_MIGRATE_ON_START": "false"})
    assert settings.db_pool_max == 25 and settings.migrate_on_start is False


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("PRODUCTCORE_DB_POOL_MAX", "many"),
        ("PRODUCTCORE_DB_POOL_MAX", "0"),
        ("PRODUCTCORE_DB_POOL_TIMEOUT", "-1"),
        ("PRODUCTCORE_MIGRATE_ON_START", "perhaps"),
        ("PRODUCTCORE_DATABASE_URL", "not a url"),
        ("PRODUCTCORE_DATABASE_URL", "mysql://u@h/x"),
        ("PRODUCTCORE_DATABASE_URL", "postgresql://u@h:port/x"),
        ("PRODUCTCORE_REDIS_URL", "foo"),
        ("PRODUCTCORE_REDIS_URL", "http://127.0.0.1:6379"),
        ("PRODUCTCORE_REDIS_URL", "redis://127.0.0.1:99999/0"),
        ("PRODUCTCORE_PORT", "99999"),
        ("PRODUCTCORE_LOG_LEVEL", "loud"),
    ],
)
def test_bad_values_name_the_variable(variable: str, value: str) -> None:
    """A bad value fails at start with a message naming the variable."""
    with pytest.raises(ConfigError, match=variable):
        Settings.from_env({variable: value})


def test_pool_minimum_above_maximum_is_rejected() -> None:
    """DB_POOL_MIN > DB_POOL_MAX names both variables."""
    with pytest.raises(ConfigError, match=r"PRODUCTCORE_DB_POOL_MIN.*PRODUCTCORE_DB_POOL_MAX"):
        Settings.from_env({"PRODUCTCORE_DB_POOL_MIN": "20", "PRODUCTCORE_DB_POOL_MAX": "5"})


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("PRODUCTCORE_DATABASE_URL", "postgresql://u:secret@db.example:5433/shop"),
        ("PRODUCTCORE_DATABASE_URL", "host=/run/postgresql dbname=shop"),
        ("PRODUCTCORE_REDIS_URL", "rediss://:secret@cache.example:6380/2"),
        ("PRODUCTCORE_REDIS_URL", "unix:///run/redis.sock"),
    ],
)
def test_usable_server_urls_are_accepted(variable: str, value: str) -> None:
    """PostgreSQL URLs, conninfo strings and every Redis URL scheme the client knows pass."""
    Settings.from_env({variable: value})


def test_a_bad_redis_url_is_named_without_its_password() -> None:
    """The message about a bad Redis URL names the variable but does not repeat a secret in it."""
    with pytest.raises(ConfigError, match="PRODUCTCORE_REDIS_URL") as raised:
        Settings.from_env({"PRODUCTCORE_REDIS_URL": "redis://:hunter2@h:notaport/0"})
    assert "hunter2" not in str(raised.value)
