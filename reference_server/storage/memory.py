"""Everything in process: for ``--in-memory`` and for tests. Lost when the process ends."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

import orjson
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.store.base import BaseStore
from langgraph.store.memory import InMemoryStore

from reference_server.storage.base import Record, StoredEvent, owner_of
from reference_server.storage.records import (
    ASSISTANT_SORT_FIELDS,
    THREAD_SORT_FIELDS,
    assistant_matches,
    contains,
    page,
    sort_records,
    thread_matches,
    version_of,
    visible_to,
)

_Copied = TypeVar("_Copied")


def _copy(value: _Copied) -> _Copied:
    """A deep copy of a JSON-ready record: records are what the SQL stores keep as JSON, and a
    JSON round trip copies them several times faster than ``copy.deepcopy``."""
    return orjson.loads(orjson.dumps(value))  # type: ignore[no-any-return]


class MemoryStorage:
    """The ``Storage`` protocol over dicts. Records are copied in and out so a caller that
    mutates what it got never changes what is stored."""

    def __init__(self) -> None:
        self.checkpointer: BaseCheckpointSaver[Any] = InMemorySaver()
        self.store: BaseStore = InMemoryStore()
        self._assistants: dict[str, Record] = {}
        self._versions: dict[str, dict[int, Record]] = {}
        self._threads: dict[str, Record] = {}
        self._runs: dict[str, Record] = {}
        self._events: dict[str, list[StoredEvent]] = {}

    async def open(self) -> None:
        return None

    async def close(self) -> None:
        return None

    # assistants -------------------------------------------------------------------------
    async def put_assistant(self, assistant: Record) -> None:
        assistant_id = str(assistant["assistant_id"])
        self._assistants[assistant_id] = _copy(assistant)
        # The history is immutable: re-putting an old version (``/latest``) keeps its entry.
        self._versions.setdefault(assistant_id, {}).setdefault(
            int(assistant["version"]), _copy(version_of(assistant))
        )

    async def get_assistant(self, assistant_id: str, owner: str | None) -> Record | None:
        assistant = self._assistants.get(assistant_id)
        if assistant is None or not visible_to(assistant, owner, unowned_visible=True):
            return None
        return _copy(assistant)

    async def delete_assistant(self, assistant_id: str, owner: str | None) -> bool:
        if await self.get_assistant(assistant_id, owner) is None:
            return False
        del self._assistants[assistant_id]
        self._versions.pop(assistant_id, None)
        return True

    async def search_assistants(
        self,
        owner: str | None,
        *,
        graph_id: str | None = None,
        metadata: Record | None = None,
        name: str | None = None,
        limit: int = 10,
        offset: int = 0,
        sort_by: str = "created_at",
        sort_order: str = "desc",
    ) -> tuple[list[Record], int]:
        matching = [
            assistant
            for assistant in self._assistants.values()
            if visible_to(assistant, owner, unowned_visible=True)
            and (graph_id is None or assistant.get("graph_id") == graph_id)
            and assistant_matches(assistant, name=name, metadata=metadata)
        ]
        ordered = sort_records(matching, sort_by, sort_order, ASSISTANT_SORT_FIELDS)
        return _copy(page(ordered, limit, offset)), len(ordered)

    async def list_assistant_versions(
        self,
        assistant_id: str,
        owner: str | None,
        *,
        metadata: Record | None = None,
        limit: int = 10,
        offset: int = 0,
    ) -> list[Record]:
        if await self.get_assistant(assistant_id, owner) is None:
            return []
        versions = self._versions.get(assistant_id, {})
        matching = [
            versions[number]
            for number in sorted(versions, reverse=True)
            if contains(versions[number].get("metadata"), metadata)
        ]
        return _copy(page(matching, limit, offset))

    # threads ----------------------------------------------------------------------------
    async def put_thread(self, thread: Record) -> None:
        self._threads[str(thread["thread_id"])] = _copy(thread)

    async def get_thread(self, thread_id: str, owner: str | None) -> Record | None:
        thread = self._threads.get(thread_id)
        if thread is None or not visible_to(thread, owner):
            return None
        return _copy(thread)

    async def delete_thread(self, thread_id: str, owner: str | None) -> bool:
        if await self.get_thread(thread_id, owner) is None:
            return False
        del self._threads[thread_id]
        for run_id in [
            run_id for run_id, run in self._runs.items() if run.get("thread_id") == thread_id
        ]:
            del self._runs[run_id]
            self._events.pop(run_id, None)
        await self.checkpointer.adelete_thread(thread_id)
        return True

    async def search_threads(
        self,
        owner: str | None,
        *,
        metadata: Record | None = None,
        values: Record | None = None,
        status: str | None = None,
        ids: Sequence[str] | None = None,
        limit: int = 10,
        offset: int = 0,
        sort_by: str = "created_at",
        sort_order: str = "desc",
    ) -> tuple[list[Record], int]:
        wanted_ids = set(ids) if ids is not None else None
        matching = [
            thread
            for thread in self._threads.values()
            if visible_to(thread, owner)
            and (wanted_ids is None or thread["thread_id"] in wanted_ids)
            and (status is None or thread.get("status") == status)
            and thread_matches(thread, metadata=metadata, values=values)
        ]
        ordered = sort_records(matching, sort_by, sort_order, THREAD_SORT_FIELDS)
        return _copy(page(ordered, limit, offset)), len(ordered)

    # runs -------------------------------------------------------------------------------
    async def put_run(self, run: Record) -> None:
        self._runs[str(run["run_id"])] = _copy(run)

    async def get_run(self, run_id: str, owner: str | None) -> Record | None:
        run = self._runs.get(run_id)
        if run is None or not self._run_visible(run, owner):
            return None
        return _copy(run)

    async def delete_run(self, run_id: str, owner: str | None) -> bool:
        if await self.get_run(run_id, owner) is None:
            return False
        del self._runs[run_id]
        self._events.pop(run_id, None)
        return True

    async def list_runs(
        self,
        thread_id: str,
        owner: str | None,
        *,
        status: str | None = None,
        limit: int = 10,
        offset: int = 0,
    ) -> list[Record]:
        matching = [
            run
            for run in self._runs.values()
            if run.get("thread_id") == thread_id
            and (status is None or run.get("status") == status)
            and self._run_visible(run, owner)
        ]
        ordered = sort_records(matching, "created_at", "desc", ("created_at",))
        return _copy(page(ordered, limit, offset))

    async def list_runs_with_status(self, statuses: Sequence[str]) -> list[Record]:
        wanted = set(statuses)
        return [_copy(run) for run in self._runs.values() if run.get("status") in wanted]

    def _run_visible(self, run: Record, owner: str | None) -> bool:
        if owner is None:
            return True
        return _run_owner(run, self._threads.get(str(run.get("thread_id")))) == owner

    # run stream events ------------------------------------------------------------------
    async def append_events(self, run_id: str, events: Sequence[StoredEvent]) -> None:
        self._events.setdefault(run_id, []).extend(events)

    async def list_events(self, run_id: str, after_id: str | None = None) -> list[StoredEvent]:
        events = self._events.get(run_id, [])
        if after_id is None:
            return list(events)
        return [event for event in events if event.id > after_id]


def _run_owner(run: Record, thread: Record | None) -> str | None:
    owner = owner_of(run)
    if owner is None and thread is not None:
        return owner_of(thread)
    return owner
