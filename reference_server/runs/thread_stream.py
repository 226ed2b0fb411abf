"""``GET /threads/{id}/stream``: the events of every run of a thread, as ``langgraph dev`` sends
them.

From the moment of connection: the rest of the runs going on then, and every run created later,
each run's events followed by a ``metadata`` event ``{"status": "run_done", "run_id": ...}``,
every event with an id. With ``Last-Event-ID``, the kept events (those of resumable runs; other
runs keep none) after that id come first, each run's again closed by its ``run_done``. The
stream never ends by itself: the client leaves.

Event ids are unique within a run, not across runs (two runs may share a millisecond), so a
``Last-Event-ID`` is first looked up in the runs' own sequences, oldest run first, and only an
id found nowhere is compared as text.

With several workers, the runs other workers execute are followed from storage
(``Workers.follow_events``): those going on at connection, and those created later (the other
workers announce them).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence

from reference_server.runs.manager import RunHandle, RunManager
from reference_server.storage.base import StoredEvent
from reference_server.streaming.broker import next_event_id
from reference_server.streaming.serialise import dumps

_RUNS_PAGE = 100


def run_done_event(run_id: str, last_event_id: str | None) -> StoredEvent:
    """The marker ending a run on the thread stream; its id follows the run's last event id,
    so it is the same live and replayed."""
    return StoredEvent(
        next_event_id(last_event_id),
        "metadata",
        dumps({"status": "run_done", "run_id": run_id}),
    )


class ThreadEventFeed:
    """One client's view of a thread's runs.

    Built in the request handler: it subscribes to new runs and fixes where it joins the runs
    going on at once, so nothing published once the response has started is missed. Iterate
    ``events()`` exactly once.
    """

    def __init__(self, manager: RunManager, thread_id: str, after_id: str | None) -> None:
        self._manager = manager
        self._thread_id = thread_id
        self._after_id = after_id
        self._new_runs: asyncio.Queue[RunHandle | str] = manager.subscribe_new_runs(thread_id)
        self._active = [(handle, handle.log.position) for handle in manager.active_runs(thread_id)]

    async def events(self) -> AsyncIterator[StoredEvent]:
        try:
            found_in_replay = False
            local = [handle.run_id for handle, _ in self._active]
            elsewhere = list(
                await self._manager.workers.active_runs_elsewhere(self._thread_id, local)
            )
            if self._after_id is not None:
                replay, found_in_replay = await self._replay({*local, *elsewhere})
                for event in replay:
                    yield event
            seen: set[str] = set()
            for handle, position in self._active:
                seen.add(handle.run_id)
                resumed = (
                    self._after_id is not None
                    and handle.body.stream_resumable
                    and not found_in_replay
                )
                if resumed:
                    # The id may be one of this run's: go on strictly after it.
                    start, after = handle.log.start_position(self._after_id), self._after_id
                elif self._after_id is not None and handle.body.stream_resumable:
                    start, after = 0, None  # the id was an earlier run's: all of this one
                else:
                    start, after = position, None  # nothing kept: from connection on
                async for event in self._follow(handle, start, after):
                    yield event
            for run_id in elsewhere:
                if run_id in seen:
                    continue
                seen.add(run_id)
                async for event in self._follow_elsewhere(run_id, found_in_replay):
                    yield event
            while True:
                created = await self._new_runs.get()
                if isinstance(created, str):
                    if created not in seen:
                        seen.add(created)
                        async for event in self._follow_from_storage(created, "-1", None):
                            yield event
                    continue
                if created.run_id in seen:
                    continue
                seen.add(created.run_id)
                async for event in self._follow(created, 0, None):
                    yield event
        finally:
            self._manager.unsubscribe_new_runs(self._thread_id, self._new_runs)

    async def _follow(
        self, handle: RunHandle, position: int, after_id: str | None
    ) -> AsyncIterator[StoredEvent]:
        """The run's events from ``position``, then its ``run_done`` unless that is not after
        ``after_id``."""
        async for event in handle.log.listen_from(position):
            yield event
        done = run_done_event(handle.run_id, handle.log.last_id)
        if after_id is None or done.id > after_id:
            yield done

    async def _follow_elsewhere(
        self, run_id: str, found_in_replay: bool
    ) -> AsyncIterator[StoredEvent]:
        """A run another worker executes, joined as ``events`` joins a local one."""
        run = await self._manager.storage.get_run(run_id, None)
        resumable = bool(((run or {}).get("kwargs") or {}).get("resumable"))
        if self._after_id is not None and resumable and not found_in_replay:
            start, after = self._after_id, self._after_id
        elif self._after_id is not None and resumable:
            start, after = "-1", None
        else:
            start, after = None, None
        async for event in self._follow_from_storage(run_id, start, after):
            yield event

    async def _follow_from_storage(
        self, run_id: str, start: str | None, after_id: str | None
    ) -> AsyncIterator[StoredEvent]:
        """The stored events of a run another worker executes after ``start`` (as
        ``follow_events``), then its ``run_done`` unless that is not after ``after_id``."""
        last_id: str | None = None
        async for event in self._manager.workers.follow_events(run_id, start):
            last_id = event.id
            yield event
        if last_id is None:
            stored = await self._manager.storage.list_events(run_id)
            last_id = stored[-1].id if stored else None
        done = run_done_event(run_id, last_id)
        if after_id is None or done.id > after_id:
            yield done

    async def _replay(self, active: set[str]) -> tuple[list[StoredEvent], bool]:
        """The kept events of the thread's finished runs after ``Last-Event-ID``, and whether
        the id was found among them."""
        assert self._after_id is not None
        sequence: list[StoredEvent] = []
        storage = self._manager.storage
        for run_id in await self._finished_run_ids(active):
            events = await storage.list_events(run_id)
            if events:
                sequence.extend(events)
                sequence.append(run_done_event(run_id, events[-1].id))
        for index, event in enumerate(sequence):
            if event.id == self._after_id:
                return sequence[index + 1 :], True
        return [event for event in sequence if event.id > self._after_id], False

    async def _finished_run_ids(self, active: set[str]) -> Sequence[str]:
        """The thread's runs, oldest first, but those followed live."""
        storage = self._manager.storage
        runs = []
        offset = 0
        while True:
            page = await storage.list_runs(self._thread_id, None, limit=_RUNS_PAGE, offset=offset)
            runs.extend(page)
            if len(page) < _RUNS_PAGE:
                break
            offset += _RUNS_PAGE
        # Listed newest first; run ids are uuid7, so they sort by creation as well.
        ordered = sorted(runs, key=lambda run: (str(run.get("created_at")), str(run["run_id"])))
        return [str(run["run_id"]) for run in ordered if str(run["run_id"]) not in active]
