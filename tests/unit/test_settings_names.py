"""Which ``PRODUCTCORE_*`` variables count: empty ones are unset, unknown ones are refused by name."""

import pytest

from entrypoints.settings import ConfigError, Settings


@pytest.mark.parametrize(
    "variable",
    [
        "PRODUCTCORE_TRUSTED_PROXIES",
        "PRODUCTCORE_DATABASE_URL",
        "PRODUCTCORE_REDIS_URL",
        "PRODUCTCORE_DB_POOL_MAX",
        "PRODUCTCORE_CACHE_ENABLED",
        "PRODUCTCORE_RATE_LIMIT_READ",
        "PRODUCTCORE_DATA_DIR",
    ],
)
def test_an_empty_variable_means_not_set(variable: str) -> None:
    """`VAR=` (as compose and systemd files write it) gives the default, not an error."""
    assert Settings.from_env({variable: ""}) == Settings.from_env({})


def test_empty_variables_do_not_hide_set_ones() -> None:
    """Empty variables beside set ones leave the set ones in force."""
    settings = Settings.from_env({"PRODUCTCORE_TRUSTED_PROXIES": "", "PRODUCTCORE_DB_POOL_MAX": "25"})
    assert settings.db_pool_max == 25 and settings.trusted_proxies == ""


@pytest.mark.parametrize(
    ("typo", "meant"),
    [
        ("PRODUCTCORE_DATABSE_URL", "PRODUCTCORE_DATABASE_URL"),
        ("PRODUCTCORE_REDIS_ULR", "PRODUCTCORE_REDIS_URL"),
        ("PRODUCTCORE_TRUSTED_PROXY", "PRODUCTCORE_TRUSTED_PROXIES"),
        ("PRODUCTCORE_RATELIMIT_READ", "PRODUCTCORE_RATE_LIMIT_READ"),
        ("PRODUCTCORE_L1_SIZES", "PRODUCTCORE_L1_SIZE"),
    ],
)
def test_an_unknown_variable_is_refused_with_the_closest_known_one(typo: str, meant: str) -> None:
    """A typo stops the start with its own name and the setting it most resembles."""
    with pytest.raises(ConfigError) as raised:
        Settings.from_env({typo: "x"})
    assert str(raised.value) == f"{typo} is not a known setting (did you mean {meant}?)"


def test_an_unknown_variable_with_no_close_match_points_to_the_settings_page() -> None:
    """A name like no setting is refused all the same, pointing to where the settings are listed."""
    expected = r"^PRODUCTCORE_BANANA is not a known setting \(see docs/configuration.md"
    with pytest.raises(ConfigError, match=expected):
        Settings.from_env({"PRODUCTCORE_BANANA": "yellow"})


def test_an_unknown_variable_is_refused_even_when_empty() -> None:
    """An empty misspelt variable is still a misspelling worth stopping for."""
    with pytest.raises(ConfigError, match="PRODUCTCORE_DATABSE_URL"):
        Settings.from_env({"PRODUCTCORE_DATABSE_URL": ""})


def test_every_unknown_variable_is_named() -> None:
    """Several unknown variables are all reported at once, in a stable order."""
    with pytest.raises(ConfigError) as raised:
        Settings.from_env({"PRODUCTCORE_REDIS_ULR": "x", "PRODUCTCORE_DATABSE_URL": "y"})
    message = str(raised.value)
    assert message.index("PRODUCTCORE_DATABSE_URL") < message.index("PRODUCTCORE_REDIS_ULR")


@pytest.mark.parametrize(
    "variable",
    ["PRODUCTCORE_TEST_DATABASE_URL", "PRODUCTCORE_TEST_REDIS_URL", "PRODUCTCORE_TEST_WRITE_TOKEN"],
)
def test_the_test_suites_own_variables_are_not_settings(variable: str) -> None:
    """`PRODUCTCORE_TEST_*` variables belong to the test suite and are neither read nor refused."""
    assert Settings.from_env({variable: "postgresql://u@h/x"}) == Settings.from_env({})


def test_other_variables_are_ignored() -> None:
    """Variables without the prefix, including look-alikes, are none of the service's business."""
    unrelated = {"PRODUCTCORE": "x", "XPRODUCTCORE_PORT": "1", "PATH": "/bin"}
    assert Settings.from_env(unrelated) == Settings.from_env({})
