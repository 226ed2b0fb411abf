"""The little raw ASGI that apps written without a framework share: the fake LLM, and the
benchmark's HTTP floor. Types for the three callables, the lifespan protocol, a bounded body
read and a JSON answer."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

MAX_BODY_BYTES = 16 * 1024 * 1024

JSON_HEADERS = [(b"content-type", b"application/json")]


async def serve_lifespan(receive: Receive, send: Send) -> None:
    """Answers the server's start-up and shut-down messages; returns at shut-down."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


async def read_body(receive: Receive, limit: int = MAX_BODY_BYTES) -> bytes | None:
    """The request body; ``b""`` if the client left first, None if it is over ``limit``."""
    parts: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return b""
        part = message.get("body", b"")
        size += len(part)
        if size > limit:
            return None
        parts.append(part)
        if not message.get("more_body", False):
            return b"".join(parts)


async def send_json(
    send: Send, status: int, body: bytes, extra_headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    """A whole JSON response: ``body`` is the encoded JSON."""
    headers = [
        *JSON_HEADERS,
        (b"content-length", str(len(body)).encode()),
        *(extra_headers or []),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})
