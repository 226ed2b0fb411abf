"""Response bodies that stay open while a run works: SSE streams and long-poll JSON.

Both send a keep-alive on a fixed cadence from the start of the response (``: heartbeat`` for
SSE, ``\\n`` for JSON), not reset by events, as ``langgraph dev`` does. The waiting uses
``asyncio.timeout_at`` on a queue: no polling, no task per event.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

from reference_server.storage.base import StoredEvent
from reference_server.streaming.sse import HEARTBEAT, encode_event

_LOGGER = logging.getLogger(__name__)
_END = object()


async def sse_body(
    events: AsyncIterator[StoredEvent],
    *,
    include_ids: bool,
    heartbeat_seconds: float,
    on_disconnect: Callable[[], Awaitable[None]] | None = None,
) -> AsyncIterator[bytes]:
    """The SSE bytes of ``events``, one write per event, heartbeats in between; when the
    client goes away before the end, ``on_disconnect`` runs."""
    queue: asyncio.Queue[object] = asyncio.Queue()

    async def _pump() -> None:
        try:
            async for event in events:
                queue.put_nowait(event)
        except Exception:
            # The response has started: all that is left is to end it and say why in the log.
            _LOGGER.exception("the event source of a stream failed")
        finally:
            queue.put_nowait(_END)

    pump = asyncio.create_task(_pump())
    loop = asyncio.get_running_loop()
    next_heartbeat = loop.time() + heartbeat_seconds
    completed = False
    try:
        while True:
            try:
                async with asyncio.timeout_at(next_heartbeat):
                    item = await queue.get()
            except TimeoutError:
                next_heartbeat += heartbeat_seconds
                yield HEARTBEAT
                continue
            if item is _END:
                completed = True
                return
            assert isinstance(item, StoredEvent)
            yield encode_event(item.event, item.data, item.id if include_ids else None)
    finally:
        pump.cancel()
        if not completed and on_disconnect is not None:
            await asyncio.shield(on_disconnect())


async def json_body_when_done(
    result: Awaitable[bytes],
    *,
    heartbeat_seconds: float,
    on_disconnect: Callable[[], Awaitable[None]] | None = None,
) -> AsyncIterator[bytes]:
    """``\\n`` every ``heartbeat_seconds`` until ``result`` is ready, then ``result``."""
    task = asyncio.ensure_future(result)
    completed = False
    try:
        while True:
            done, _ = await asyncio.wait({task}, timeout=heartbeat_seconds)
            if done:
                completed = True
                yield task.result()
                return
            yield b"\n"
    finally:
        if not completed:
            task.cancel()
            if on_disconnect is not None:
                await asyncio.shield(on_disconnect())
