"""Read and drop what is left of a request body the app did not read, before the connection moves on.

A write refused before its body is read (429, 401, 413, 415) is answered at once; if the server then
closed or reused the connection with body bytes still unread, the client, still sending, would get a
connection reset instead of the answer (the kernel discards a received answer on a reset). So the
rest of the body is read and dropped, up to a bound of bytes and time, as nginx's lingering close does.
"""

from __future__ import annotations

import asyncio

from litestar.types import Receive, ReceiveMessage

MAX_BYTES = 4 * 1024 * 1024
"""Most bytes read and dropped after an answer; a client sending more is cut off."""
MAX_SECONDS = 5.0
"""Longest time spent on it; a client sending slower is cut off."""


class RequestBody:
    """A ``receive`` that notes when the request body has been read to its end."""

    def __init__(self, receive: Receive) -> None:
        self._receive = receive
        self.complete = False

    async def __call__(self) -> ReceiveMessage:
        """Receive the next message, as the wrapped ``receive`` does."""
        message = await self._receive()
        if message["type"] != "http.request" or not message.get("more_body", False):
            self.complete = True
        return message

    async def drain(self) -> None:
        """Read and drop the rest of the body, within ``MAX_BYTES`` and ``MAX_SECONDS``."""
        dropped = 0
        try:
            async with asyncio.timeout(MAX_SECONDS):
                while not self.complete and dropped <= MAX_BYTES:
                    message = await self()
                    dropped += len(message.get("body", b""))  # type: ignore[arg-type]
        except TimeoutError:
            return
