"""API keys: made once, configured as digests, verified by digest in constant time."""

from __future__ import annotations

import hashlib

import pytest

from entrypoints.apikeys import READ, WRITE, ApiKeyConfigError, KeyRing, generate, parse_keys


def test_a_generated_key_verifies_through_its_config_entry() -> None:
    """The configuration line alone is enough to recognise the key; it holds no part of the secret."""
    token, key = generate("ci", [WRITE])
    ring = KeyRing(parse_keys(key.config_entry))
    assert ring.verify(token) == key
    assert token.split("_", 2)[2] not in key.config_entry
    assert key.config_entry == f"ci:write:sha256:{hashlib.sha256(token.encode()).hexdigest()}"


def test_keys_are_random() -> None:
    """Two keys with the same id and scopes differ (and have 256 random bits)."""
    first, second = generate("ci", [WRITE])[0], generate("ci", [WRITE])[0]
    assert first != second
    assert len(first.split("_", 2)[2]) >= 43


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: t[:-1],
        lambda t: t + "A",
        lambda t: t.upper(),
        lambda t: t.replace("pck_ci_", "pck_cd_"),
        lambda t: t.replace("pck_", "pcx_"),
        lambda t: "",
        lambda t: t * 20,
    ],
    ids=["truncated", "extended", "case-changed", "other-id", "other-prefix", "empty", "huge"],
)
def test_anything_but_the_exact_token_is_refused(mangle: object) -> None:
    """A token that differs in any way from the one made verifies as nothing."""
    token, key = generate("ci", [WRITE])
    assert callable(mangle)
    assert KeyRing([key]).verify(mangle(token)) is None


def test_write_scope_includes_read_but_read_does_not_include_write() -> None:
    """A write key may read; a read key may not write."""
    _, writer = generate("w", [WRITE])
    _, reader = generate("r", [READ])
    assert writer.allows(READ)
    assert writer.allows(WRITE)
    assert reader.allows(READ)
    assert not reader.allows(WRITE)


def test_a_list_of_entries_parses_with_commas_or_whitespace() -> None:
    """Entries may be separated by commas, spaces or newlines; scopes are joined with +."""
    entries = [generate(name, scopes)[1] for name, scopes in (("a", [READ]), ("b", [READ, WRITE]))]
    text = f" {entries[0].config_entry},\n  {entries[1].config_entry} ,"
    assert parse_keys(text) == tuple(entries)
    assert parse_keys("") == ()


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("ci:write", "is not <id>:<scopes>:sha256"),
        ("ci:write:md5:" + "0" * 64, "is not <id>:<scopes>:sha256"),
        ("ci:admin:sha256:" + "0" * 64, "scopes must be one or more of read, write"),
        ("CI:write:sha256:" + "0" * 64, "key id 'CI' must be"),
        ("ci:write:sha256:" + "0" * 63, "64 lowercase hex digits"),
        ("ci:write:sha256:" + "G" * 64, "64 lowercase hex digits"),
        (f"ci:read:sha256:{'0' * 64},ci:write:sha256:{'1' * 64}", "appears twice"),
    ],
)
def test_bad_entries_are_refused_with_a_reason(text: str, complaint: str) -> None:
    """A malformed PRODUCTCORE_API_KEYS entry names its number and what is wrong."""
    with pytest.raises(ApiKeyConfigError, match=complaint) as error:
        parse_keys(text)
    assert "entry " in str(error.value)


@pytest.mark.parametrize("key_id", ["", "-x", "has space", "UPPER", "x" * 33, "under_score"])
def test_generate_refuses_bad_ids(key_id: str) -> None:
    """Key ids are short lowercase names, so they fit in tokens and logs."""
    with pytest.raises(ApiKeyConfigError):
        generate(key_id, [WRITE])
