"""The event log of one run: live fan-out to every listener, persistence for resume and join.

Each published event gets an id that is strictly increasing and unique within the run (unlike
upstream's ``<ms>-0``, which repeats within a millisecond), sortable as text:
``<epoch ms, 13 digits>-<sequence, 8 digits>``. Each listener holds an ``EventCursor``: a
position in the in-memory log and an ``asyncio.Event`` that ``publish`` sets, so a listener
takes every event published since it last looked in one go, with no polling and no task of its
own. Resumable runs are
persisted in batches by one background task, so the stream never waits on storage; ``close``
flushes the rest before it returns. A batch that cannot be written is kept in
``persist_failure`` (and ``on_persist_failure`` called): the run manager fails the run with it,
never losing events silently.
"""

from __future__ import annotations

import asyncio
import bisect
import logging
import time
from collections.abc import AsyncIterator, Callable

from reference_server.storage.base import Storage, StoredEvent

_LOGGER = logging.getLogger(__name__)

REPLAY_EVERYTHING = "-1"
"""The ``Last-Event-ID`` that asks for every event from the start."""


def _event_id(event: StoredEvent) -> str:
    return event.id


def format_event_id(epoch_ms: int, sequence: int) -> str:
    return f"{epoch_ms:013d}-{sequence:08d}"


def next_event_id(event_id: str | None) -> str:
    """The id ``publish`` would give the event after ``event_id`` within the same millisecond
    (the current time when there is none): a run's ``run_done`` marker takes it, so the marker
    has the same id live and replayed."""
    if event_id is None:
        return format_event_id(int(time.time() * 1000), 1)
    epoch_ms, _, sequence = event_id.partition("-")
    try:
        return format_event_id(int(epoch_ms), int(sequence) + 1)
    except ValueError:
        raise ValueError(f"not an event id of this server: {event_id!r}") from None


class RunEventLog:
    """Publishes one run's events and serves them to any number of listeners."""

    def __init__(
        self,
        run_id: str,
        storage: Storage,
        *,
        persist: bool,
        on_persist_failure: Callable[[Exception], None] | None = None,
    ) -> None:
        self.run_id = run_id
        self.persist_failure: Exception | None = None
        self._on_persist_failure = on_persist_failure
        self._storage = storage
        self._persist = persist
        self._events: list[StoredEvent] = []
        self._cursors: set[EventCursor] = set()
        self._closed = False
        self._last_ms = 0
        self._pending: list[StoredEvent] = []
        self._flusher: asyncio.Task[None] | None = None

    @property
    def closed(self) -> bool:
        return self._closed

    def publish(self, event: str, data: bytes) -> StoredEvent:
        if self._closed:
            raise RuntimeError(f"the event log of run {self.run_id} is closed")
        # Never go back in time, so ids stay ordered even if the clock steps back.
        self._last_ms = max(self._last_ms, int(time.time() * 1000))
        stored = StoredEvent(format_event_id(self._last_ms, len(self._events) + 1), event, data)
        self._events.append(stored)
        if self._persist:
            self._pending.append(stored)
            if self._flusher is None or self._flusher.done():
                self._flusher = asyncio.create_task(self._flush())
        self._notify()
        return stored

    async def close(self) -> None:
        """No more events; returns once every event is persisted."""
        if self._closed:
            return
        self._closed = True
        for cursor in self._cursors:
            cursor.ended.set()
        self._notify()
        await self.flush()

    async def flush(self) -> None:
        """Returns once every event published so far is persisted (or failed to be)."""
        if self._flusher is not None:
            await asyncio.shield(self._flusher)
        if self._pending:
            await self._flush()

    @property
    def position(self) -> int:
        """How many events were published so far: ``listen_from(position)`` starts here."""
        return len(self._events)

    @property
    def last_id(self) -> str | None:
        return self._events[-1].id if self._events else None

    async def listen(self, after_id: str | None = None) -> AsyncIterator[StoredEvent]:
        """Events after ``after_id`` (``None``: only those published from now on; ``-1``:
        all), then live ones until the log closes."""
        async for event in self.listen_from(self._start_position(after_id)):
            yield event

    def start_position(self, after_id: str | None) -> int:
        """Where ``listen(after_id)`` would start, fixed now rather than at its first event."""
        return self._start_position(after_id)

    async def listen_from(self, position: int) -> AsyncIterator[StoredEvent]:
        """Events from index ``position`` on, then live ones until the log closes."""
        cursor = self.cursor(position)
        try:
            while True:
                for event in cursor.take():
                    yield event
                if cursor.exhausted:
                    return
                await cursor.wait()
        finally:
            cursor.close()

    def cursor(self, position: int) -> EventCursor:
        """A reader of the events from index ``position`` on; ``close`` it when done."""
        cursor = EventCursor(self, position)
        self._cursors.add(cursor)
        return cursor

    def _start_position(self, after_id: str | None) -> int:
        if after_id is None:
            return len(self._events)
        if after_id == REPLAY_EVERYTHING:
            return 0
        # Ids sort as text, so an id this log never issued still finds its place.
        return bisect.bisect_right(self._events, after_id, key=_event_id)

    def _notify(self) -> None:
        for cursor in self._cursors:
            cursor.wake.set()

    async def _flush(self) -> None:
        while self._pending:
            batch, self._pending = self._pending, []
            try:
                await self._storage.append_events(self.run_id, batch)
            except Exception as error:
                _LOGGER.exception("could not persist %d events of run %s", len(batch), self.run_id)
                first = self.persist_failure is None
                self.persist_failure = self.persist_failure or error
                if first and self._on_persist_failure is not None:
                    self._on_persist_failure(error)


class EventCursor:
    """One listener's place in a run's event log.

    ``take`` returns every event published since the last call; ``wake`` is set whenever there
    may be more (a publish, the log closing), and anything else that wants the listener to look
    again (a heartbeat timer) may set it too. Waiting on it is safe to cancel. ``ended`` is set
    once the log is closed.
    """

    def __init__(self, log: RunEventLog, position: int) -> None:
        self.wake = asyncio.Event()
        self.ended = asyncio.Event()
        """Set when the log closes: no event comes after the ones it holds."""
        if log.closed:
            self.ended.set()
        self._log = log
        self._position = position

    def take(self) -> list[StoredEvent]:
        events = self._log._events
        if self._position >= len(events):
            return []
        taken = events[self._position :]
        self._position = len(events)
        return taken

    @property
    def exhausted(self) -> bool:
        """The log is closed and every event was taken."""
        return self._log.closed and self._position >= len(self._log._events)

    async def wait(self) -> None:
        """Returns once ``wake`` is set (at once if it already is), and clears it."""
        await self.wake.wait()
        self.wake.clear()

    def close(self) -> None:
        self._log._cursors.discard(self)
