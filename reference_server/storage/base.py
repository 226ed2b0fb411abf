"""The one storage interface of the reference server.

Everything the server keeps — assistants, threads, runs, the events of each run's stream (for
join and ``Last-Event-ID`` replay), store items — goes through ``Storage``. The embedded default
keeps it all in one SQLite file together with the LangGraph checkpoints, so a restart loses
nothing; ``--in-memory`` keeps it in process; ``--database postgresql://...`` keeps it in Postgres,
shared by several workers. SQLite and Postgres share one SQL record store (``sql.py``).

Records are plain JSON-ready dicts shaped as the API returns them (``created_at`` etc. are
ISO-8601 strings), so routes serialise them without a mapping layer. ``owner`` is the
authenticated user's id (JWT ``sub``) or None when auth is off; a record owned by someone else
behaves as if it did not exist (the route answers 404).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.store.base import BaseStore

Record = dict[str, Any]


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """One SSE event of a run's stream, kept for join and resume."""

    id: str
    """Strictly increasing within a run (and sortable as text)."""
    event: str
    data: bytes
    """The ``data:`` payload exactly as sent (compact JSON)."""


class Storage(Protocol):
    checkpointer: BaseCheckpointSaver[Any]
    store: BaseStore

    async def open(self) -> None: ...
    async def close(self) -> None: ...

    # assistants -------------------------------------------------------------------------
    async def put_assistant(self, assistant: Record) -> None:
        """Insert or replace the current version; also appended to its version history."""

    async def get_assistant(self, assistant_id: str, owner: str | None) -> Record | None: ...
    async def delete_assistant(self, assistant_id: str, owner: str | None) -> bool: ...
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
        """A page of matching assistants and the total count."""

    async def list_assistant_versions(
        self,
        assistant_id: str,
        owner: str | None,
        *,
        metadata: Record | None = None,
        limit: int = 10,
        offset: int = 0,
    ) -> list[Record]: ...

    # threads ----------------------------------------------------------------------------
    async def put_thread(self, thread: Record) -> None: ...
    async def get_thread(self, thread_id: str, owner: str | None) -> Record | None: ...
    async def delete_thread(self, thread_id: str, owner: str | None) -> bool:
        """Deletes the thread, its runs, their events and its checkpoints."""

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
    ) -> tuple[list[Record], int]: ...

    # runs -------------------------------------------------------------------------------
    async def put_run(self, run: Record) -> None: ...
    async def get_run(self, run_id: str, owner: str | None) -> Record | None: ...
    async def delete_run(self, run_id: str, owner: str | None) -> bool:
        """Deletes the run and its events."""

    async def list_runs(
        self,
        thread_id: str,
        owner: str | None,
        *,
        status: str | None = None,
        limit: int = 10,
        offset: int = 0,
    ) -> list[Record]:
        """Runs of a thread, newest first."""

    async def list_runs_with_status(self, statuses: Sequence[str]) -> list[Record]:
        """Every run (any owner) in one of the statuses; used at start-up to settle runs a
        restart left pending or running."""

    # run stream events ------------------------------------------------------------------
    async def append_events(self, run_id: str, events: Sequence[StoredEvent]) -> None: ...
    async def list_events(self, run_id: str, after_id: str | None = None) -> list[StoredEvent]:
        """Events strictly after ``after_id`` (all when None), in order."""


# Ownership (added by D1) ----------------------------------------------------------------------
OWNER_METADATA_KEY = "owner"
"""Where a record keeps its owner: ``record["metadata"]["owner"]``, as ``langgraph dev`` with
auth does. Records created while auth is off carry none. A run without one belongs to the owner
of its thread."""


def owner_of(record: Record) -> str | None:
    metadata = record.get("metadata")
    if isinstance(metadata, dict):
        owner = metadata.get(OWNER_METADATA_KEY)
        if isinstance(owner, str) and owner:
            return owner
    return None
