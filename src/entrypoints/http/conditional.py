"""Entity tags from product versions, and the ``If-None-Match`` / ``If-Match`` headers that use them."""

from __future__ import annotations

import re

from litestar.exceptions import HTTPException

from productcore.errors import FieldError, InvalidInput

_ETAG = re.compile(r'\s*(W/)?"([^"]*)"\s*')


NEVER_MATCHES = -1
"""A version no product has: asking for it makes a conditional write fail with the current version."""


def etag(version: int) -> str:
    """The strong entity tag of a product version."""
    return f'"{version}"'


def _tags(header: str, name: str) -> list[tuple[bool, str]] | None:
    """Parse a list of entity tags into (weak, opaque) pairs; None for ``*``."""
    if header.strip() == "*":
        return None
    tags = []
    for part in header.split(","):
        match = _ETAG.fullmatch(part)
        if match is None:
            raise InvalidInput([FieldError(name, f'{part.strip()!r} is not an entity tag such as "3"')])
        tags.append((match[1] is not None, match[2]))
    return tags


def matches_none(header: str | None, version: int) -> bool:
    """True when ``If-None-Match`` names the current version (weak comparison) or is ``*``."""
    if not header:
        return False
    tags = _tags(header, "If-None-Match")
    return tags is None or any(opaque == str(version) for _, opaque in tags)


def expected_version(header: str | None, *, required: bool) -> int | None:
    """The version a write must find, from ``If-Match``; None means unconditional (or ``*``).

    Raises:
        HTTPException: 428 when ``required`` and the header is missing.
        InvalidInput: the header is not one entity tag.
    """
    if not header:
        if required:
            raise HTTPException(
                status_code=428,
                detail="this server requires If-Match on writes: send the ETag of the product as you read it",
            )
        return None
    tags = _tags(header, "If-Match")
    if tags is None:
        return None
    if len(tags) != 1:
        raise InvalidInput([FieldError("If-Match", 'must be one entity tag from an ETag, e.g. "3"')])
    weak, opaque = tags[0]
    # A weak or foreign tag never matches under strong comparison: the write must fail with 412.
    return int(opaque) if not weak and opaque.isdigit() and len(opaque) < 19 else NEVER_MATCHES
