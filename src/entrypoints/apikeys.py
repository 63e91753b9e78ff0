"""API keys: random bearer tokens, configured only as SHA-256 digests and checked in constant time."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass

READ = "read"
WRITE = "write"
SCOPES = (READ, WRITE)
TOKEN_PREFIX = "pck"  # noqa: S105 - the public prefix of every token, not a secret
MAX_TOKEN_LENGTH = 200

_ID = re.compile(r"[a-z0-9][a-z0-9-]{0,31}")
_HEX_DIGEST = re.compile(r"[0-9a-f]{64}")
_ENTRY_SEPARATORS = re.compile(r"[\s,]+")
# Compared against when a token names no configured key, so a miss costs what a hit costs.
_NO_KEY = hashlib.sha256(b"no such key").digest()


class ApiKeyConfigError(ValueError):
    """An ``API_KEYS`` entry cannot be parsed; the message says which entry and why (never a secret)."""


@dataclass(frozen=True, slots=True)
class ApiKey:
    """A configured key: its public id, what it may do, and the SHA-256 digest of its token."""

    id: str
    scopes: frozenset[str]
    digest: bytes

    def allows(self, scope: str) -> bool:
        """True when the key grants ``scope``; a write key may also read."""
        return scope in self.scopes or (scope == READ and WRITE in self.scopes)

    @property
    def config_entry(self) -> str:
        """The ``PRODUCTCORE_API_KEYS`` entry that configures this key."""
        return f"{self.id}:{'+'.join(sorted(self.scopes))}:sha256:{self.digest.hex()}"


def digest(token: str) -> bytes:
    """The SHA-256 digest a token is stored as.

    Tokens carry 256 random bits, so a fast hash cannot be brute-forced; a slow password hash
    would only make every authenticated request expensive.
    """
    return hashlib.sha256(token.encode("utf-8")).digest()


def generate(key_id: str, scopes: Iterable[str]) -> tuple[str, ApiKey]:
    """Create a new key: return its token (show it once, store it nowhere) and its configuration.

    Raises:
        ApiKeyConfigError: the id or a scope is not acceptable.
    """
    key_id, granted = _check_id(key_id), _check_scopes(scopes)
    token = f"{TOKEN_PREFIX}_{key_id}_{secrets.token_urlsafe(32)}"
    return token, ApiKey(key_id, granted, digest(token))


def parse_keys(text: str) -> tuple[ApiKey, ...]:
    """Parse ``PRODUCTCORE_API_KEYS``: entries ``<id>:<scope>[+<scope>]:sha256:<hex>``, comma separated.

    Raises:
        ApiKeyConfigError: an entry is malformed or an id appears twice.
    """
    keys: dict[str, ApiKey] = {}
    for number, entry in enumerate((e for e in _ENTRY_SEPARATORS.split(text) if e), start=1):
        parts = entry.split(":")
        if len(parts) != 4 or parts[2] != "sha256":
            raise ApiKeyConfigError(f"entry {number} is not <id>:<scopes>:sha256:<64 hex digits>")
        key_id, scopes, _, hex_digest = parts
        granted = _check_scopes(scopes.split("+"), number)
        if not _HEX_DIGEST.fullmatch(hex_digest):
            raise ApiKeyConfigError(f"entry {number} ({key_id}): the digest must be 64 lowercase hex digits")
        if _check_id(key_id, number) in keys:
            raise ApiKeyConfigError(f"entry {number}: key id {key_id!r} appears twice")
        keys[key_id] = ApiKey(key_id, granted, bytes.fromhex(hex_digest))
    return tuple(keys.values())


def _check_id(key_id: str, number: int | None = None) -> str:
    if not _ID.fullmatch(key_id):
        where = f"entry {number}: " if number is not None else ""
        raise ApiKeyConfigError(
            f"{where}key id {key_id!r} must be 1 to 32 lowercase letters, digits or '-', starting with "
            "a letter or digit"
        )
    return key_id


def _check_scopes(scopes: Iterable[str], number: int | None = None) -> frozenset[str]:
    granted = frozenset(scopes)
    unknown = sorted(granted - set(SCOPES))
    if unknown or not granted:
        where = f"entry {number}: " if number is not None else ""
        raise ApiKeyConfigError(f"{where}scopes must be one or more of {', '.join(SCOPES)} (got {unknown})")
    return granted


class KeyRing:
    """The configured keys, looked up by the id a token carries and verified by digest."""

    def __init__(self, keys: Iterable[ApiKey] = ()) -> None:
        self._keys = {key.id: key for key in keys}

    @classmethod
    def from_config(cls, text: str, *extra: ApiKey) -> KeyRing:
        """Build from a ``PRODUCTCORE_API_KEYS`` value plus any keys made at start (the demo key)."""
        return cls((*parse_keys(text), *extra))

    def __len__(self) -> int:
        return len(self._keys)

    def verify(self, token: str) -> ApiKey | None:
        """Return the key a token belongs to, or None; the digest comparison takes constant time."""
        if len(token) > MAX_TOKEN_LENGTH:
            return None
        prefix, _, rest = token.partition("_")
        key_id = rest.partition("_")[0] if prefix == TOKEN_PREFIX else ""
        key = self._keys.get(key_id)
        matches = hmac.compare_digest(digest(token), key.digest if key is not None else _NO_KEY)
        return key if matches else None
