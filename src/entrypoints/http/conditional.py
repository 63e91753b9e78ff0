"""Entity tags from product versions, and the ``If-Match`` / ``If-None-Match`` preconditions that use them."""

from __future__ import annotations

import re
from dataclasses import dataclass

from litestar.exceptions import HTTPException

from productcore.errors import FieldError, InvalidInput

# One list element (RFC 9110 §8.8.3 entity-tag), followed by a comma or the end; empty elements are allowed.
_ELEMENT = re.compile(r'[ \t]*(?:(W/)?"([\x21\x23-\x7e\x80-\xff]*)"[ \t]*)?(?:,|$)')
_VERSION = re.compile(r"[1-9][0-9]{0,17}")
_NOT_TAGS = '{!r} is not "*" or a list of entity tags such as "3"'

NEVER_MATCHES = -1
"""A version no product has: asking for it makes a conditional write fail with the current version."""


def etag(version: int) -> str:
    """The strong entity tag of a product version."""
    return f'"{version}"'


@dataclass(frozen=True, slots=True)
class EntityTag:
    """One entity tag of a request header: its opaque string and whether it is weak."""

    opaque: str
    weak: bool

    def version(self) -> int | None:
        """The product version this tag is the strong ETag of, or None (weak, or no ETag we send)."""
        return int(self.opaque) if not self.weak and _VERSION.fullmatch(self.opaque) else None


ANY = "*"


def _parse(header: str | None, name: str) -> tuple[EntityTag, ...] | str | None:
    """``None`` when absent, ``ANY`` for ``*``, else the listed tags.

    Raises:
        InvalidInput: the header is neither ``*`` nor a list of entity tags.
    """
    if header is None or not header.strip(" \t"):
        return None
    if header.strip(" \t") == ANY:
        return ANY
    tags: list[EntityTag] = []
    position = 0
    while position < len(header):
        match = _ELEMENT.match(header, position)
        if match is None or match.end() == position:
            raise InvalidInput(
                [FieldError(name, f'{header!r} is not "*" or a list of entity tags such as "3"')]
            )
        if match[2] is not None:
            tags.append(EntityTag(match[2], match[1] is not None))
        position = match.end()
    if not tags:
        raise InvalidInput([FieldError(name, _NOT_TAGS.format(header))])
    return tuple(tags)


def matches_none(header: str | None, version: int) -> bool:
    """True when ``If-None-Match`` names the current version (weak comparison) or is ``*``."""
    tags = _parse(header, "If-None-Match")
    if tags is None:
        return False
    return isinstance(tags, str) or any(tag.opaque == str(version) for tag in tags)


@dataclass(frozen=True, slots=True)
class WritePreconditions:
    """The ``If-Match`` and ``If-None-Match`` of a write (RFC 9110 §13.1.1, §13.1.2).

    ``If-Match`` uses strong comparison: only ``"<version>"`` exactly matches (not ``W/"4"``, not
    ``"04"``). ``If-None-Match`` uses weak comparison; ``*`` there means "only if the product does not
    exist", which never holds for a write here, since ``PUT`` does not create products.
    """

    if_match: tuple[EntityTag, ...] | str | None
    if_none_match: tuple[EntityTag, ...] | str | None

    @classmethod
    def parse(
        cls, if_match: str | None, if_none_match: str | None, *, require_if_match: bool
    ) -> WritePreconditions:
        """Read both headers.

        Raises:
            HTTPException: 428 when ``require_if_match`` and ``If-Match`` names no version (missing or ``*``).
            InvalidInput: a header is not ``*`` or a list of entity tags.
        """
        parsed = cls(_parse(if_match, "If-Match"), _parse(if_none_match, "If-None-Match"))
        if require_if_match and (parsed.if_match is None or parsed.if_match == ANY):
            sent = "no If-Match" if parsed.if_match is None else "If-Match: * (which names no version)"
            raise HTTPException(
                status_code=428,
                detail=f"this server requires If-Match on writes, and the request has {sent}: send the ETag "
                "of the product as you read it",
            )
        return parsed

    @property
    def unconditional(self) -> bool:
        """No precondition but, at most, ``If-Match: *`` (the product exists, which a write needs anyway)."""
        return self.if_none_match is None and (self.if_match is None or self.if_match == ANY)

    def candidates(self) -> list[int]:
        """The versions ``If-Match`` names (strong tags of versions), in the order sent."""
        if not isinstance(self.if_match, tuple):
            return []
        return list(dict.fromkeys(v for tag in self.if_match if (v := tag.version()) is not None))

    def failing(self, version: int) -> str:
        """The header that fails at ``version``: ``If-Match`` if it names others, else ``If-None-Match``."""
        if isinstance(self.if_match, tuple) and version not in self.candidates():
            return "If-Match"
        return "If-None-Match" if self.if_none_match is not None else "If-Match"

    def hold(self, version: int) -> bool:
        """Whether both preconditions are true when the product is at ``version``."""
        if isinstance(self.if_match, tuple) and version not in self.candidates():
            return False
        if self.if_none_match == ANY:
            return False
        if isinstance(self.if_none_match, tuple):
            return all(tag.opaque != str(version) for tag in self.if_none_match)
        return True
