"""Response bodies that stay open while a run works: SSE streams and long-poll JSON.

Both send a keep-alive on a fixed cadence from the start of the response (``: heartbeat`` for
SSE, ``\\n`` for JSON), not reset by events, as ``langgraph dev`` does.

An SSE body reads an ``EventSource``: a run's live log hands over its cursor directly; any other
stream of events (stored ones, another worker's, a thread's) comes as an async iterator that one
task drains. Whatever the source has ready when the response looks is written in one piece: one
write per event while the client keeps up, several events in one write when it is behind (the
bytes are the same; only where the writes split moves). The heartbeat is one timer per stream
that wakes the same waiter as new events do.

Writes are paced: a stream writes at once while it has written fewer than ``WRITE_BURST``
times in the last ``write_interval`` periods; otherwise it waits for the next period, or for
the end of its source if that comes first, and writes everything that arrived meanwhile in one
piece. An answer streamed faster than one token per interval is written once per interval
instead of once per token: on a long answer that cut the server's CPU per token by a sixth to
a third (docs/benchmarks.md, "Pacing a stream's writes"). A stream's first events, any event
after a pause and a stream's last events go out at once; pacing holds no event back longer
than one interval. ``write_interval=0`` writes every event as soon as it is published.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Protocol

from reference_server.storage.base import StoredEvent
from reference_server.streaming.sse import HEARTBEAT, encode_event

_LOGGER = logging.getLogger(__name__)

WRITE_BURST = 4
"""Writes a stream makes at once before pacing starts: the run's ``metadata``, its first
``values`` and the first tokens are never held back."""


class EventSource(Protocol):
    """What an SSE body reads: events ready now, whether more can come, and a wake-up."""

    wake: asyncio.Event
    """Set when there may be something to take (new events, the end)."""

    ended: asyncio.Event
    """Set once no more events can come: a stream's last events are never held back."""

    def take(self) -> list[StoredEvent]: ...

    @property
    def exhausted(self) -> bool: ...

    def close(self) -> None: ...


class _IteratorSource:
    """An ``EventSource`` fed by an async iterator that one task drains."""

    def __init__(self, events: AsyncIterator[StoredEvent]) -> None:
        self.wake = asyncio.Event()
        self.ended = asyncio.Event()
        self._ready: list[StoredEvent] = []
        self._pump = asyncio.create_task(self._drain(events))

    async def _drain(self, events: AsyncIterator[StoredEvent]) -> None:
        try:
            async for event in events:
                self._ready.append(event)
                self.wake.set()
        except Exception:
            # The response has started: all that is left is to end it and say why in the log.
            _LOGGER.exception("the event source of a stream failed")
        finally:
            self.ended.set()
            self.wake.set()

    def take(self) -> list[StoredEvent]:
        taken, self._ready = self._ready, []
        return taken

    @property
    def exhausted(self) -> bool:
        return self.ended.is_set() and not self._ready

    def close(self) -> None:
        self._pump.cancel()


class _WritePacer:
    """A token bucket of writes: ``WRITE_BURST`` deep, refilled with one write per interval."""

    def __init__(self, loop: asyncio.AbstractEventLoop, interval: float) -> None:
        self._loop = loop
        self._interval = interval
        self._allowance = float(WRITE_BURST)
        self._counted_at = loop.time()

    def _refill(self) -> None:
        now = self._loop.time()
        self._allowance = min(
            WRITE_BURST, self._allowance + (now - self._counted_at) / self._interval
        )
        self._counted_at = now

    async def turn(self, ended: asyncio.Event) -> None:
        """Returns when the stream may write, or at once when ``ended`` is set."""
        if self._interval <= 0 or ended.is_set():
            return
        self._refill()
        if self._allowance < 1:
            # A timeout scope, not wait_for: no task of its own for each paced write.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout((1 - self._allowance) * self._interval):
                    await ended.wait()

    def spend(self) -> None:
        """Counts one write."""
        if self._interval > 0:
            self._refill()
            self._allowance -= 1


async def sse_body(
    events: EventSource | AsyncIterator[StoredEvent],
    *,
    include_ids: bool,
    heartbeat_seconds: float,
    write_interval: float = 0.0,
    on_disconnect: Callable[[], Awaitable[None]] | None = None,
) -> AsyncIterator[bytes]:
    """The SSE bytes of ``events``, heartbeats in between, paced to ``write_interval``
    seconds once a burst is spent; when the client goes away before the end,
    ``on_disconnect`` runs. The source is closed when the body ends."""
    source = _IteratorSource(events) if isinstance(events, AsyncIterator) else events
    loop = asyncio.get_running_loop()
    pacer = _WritePacer(loop, write_interval)
    heartbeat_due = False
    timer: asyncio.TimerHandle

    def _heartbeat() -> None:
        nonlocal heartbeat_due, timer
        heartbeat_due = True
        source.wake.set()
        timer = loop.call_at(timer.when() + heartbeat_seconds, _heartbeat)

    timer = loop.call_at(loop.time() + heartbeat_seconds, _heartbeat)
    completed = False
    try:
        while True:
            await pacer.turn(source.ended)
            ready = source.take()
            if ready:
                pacer.spend()
                yield b"".join(
                    encode_event(event.event, event.data, event.id if include_ids else None)
                    for event in ready
                )
                continue
            if source.exhausted:
                completed = True
                return
            if heartbeat_due:
                heartbeat_due = False
                pacer.spend()
                yield HEARTBEAT
                continue
            await source.wake.wait()
            source.wake.clear()
    finally:
        timer.cancel()
        source.close()
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
