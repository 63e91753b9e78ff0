"""The invalidation message on the pub/sub channel: JSON ``{"c": [[id, version], ...], "f": flush}``."""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from productcore.caching import Invalidation


class InvalidationMessage(msgspec.Struct, frozen=True):
    """What one PUBLISH carries: invalidations, and whether every near cache must be emptied."""

    c: tuple[Invalidation, ...] = ()
    f: bool = False


_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(InvalidationMessage)


def encode_message(invalidations: Sequence[Invalidation], *, flush: bool) -> bytes:
    """The bytes to publish."""
    return _encoder.encode(InvalidationMessage(tuple(invalidations), flush))


def decode_message(data: bytes) -> InvalidationMessage:
    """Parse a published message; raises ``msgspec.DecodeError`` (or ValidationError) when malformed."""
    return _decoder.decode(data)
