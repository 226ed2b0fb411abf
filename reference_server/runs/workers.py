"""What the run manager needs from the other worker processes sharing its storage.

A run executes in the worker that created it; the others must still see it whole: stream and
join it, cancel it, respect it in multitask strategies. ``Workers`` is that contract.
``SingleProcess`` (SQLite, in memory) has no other worker: everything is in the run manager's
own memory, so it answers "nothing elsewhere" and its locks are no-ops. ``PostgresWorkers``
(``storage/postgres_workers.py``) shares it all through the database.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Literal, Protocol

from reference_server.storage.base import Record, Storage, StoredEvent

CancelAction = Literal["interrupt", "rollback"]
CancelListener = Callable[[str, CancelAction, str], None]
"""Called with ``(run_id, action, reason)`` when any worker asks for a run to be cancelled."""
RunCreatedListener = Callable[[str, str], None]
"""Called with ``(run_id, thread_id)`` when another worker creates a run."""


class Workers(Protocol):
    @property
    def shared(self) -> bool:
        """Whether other processes execute runs on the same storage."""

    async def start(self, on_cancel: CancelListener, on_created: RunCreatedListener) -> None: ...
    async def stop(self) -> None: ...

    def thread_guard(self, thread_id: str) -> AbstractAsyncContextManager[None]:
        """Held while a run is created on the thread: one creation at a time across workers,
        so a multitask strategy sees every run created before it."""

    def turn(self, thread_id: str, run_id: str) -> AbstractAsyncContextManager[None]:
        """Waits until no run of the thread runs elsewhere and none created before this one
        is still pending, then holds the thread while the run is marked running."""

    async def adopt(self, run_id: str, thread_id: str) -> None:
        """This worker executes the run (before the run is stored)."""

    async def release(self, run_id: str, thread_id: str) -> None:
        """The run is over and all its events are stored."""

    async def active_runs_elsewhere(self, thread_id: str, local: Sequence[str]) -> list[str]:
        """Ids of the thread's pending or running runs executed by other live workers."""

    async def executing_elsewhere(self, run_id: str) -> bool:
        """Whether a live worker other than this one still executes the run."""

    async def orphaned_runs(self, statuses: Sequence[str]) -> list[Record]:
        """Runs in one of the statuses that no live worker executes (a dead process's)."""

    def settling(self) -> AbstractAsyncContextManager[bool]:
        """Held while orphaned runs are settled; True for the one worker that may do it now,
        so no run is settled twice."""

    async def request_cancel(self, run_id: str, action: CancelAction, reason: str) -> None: ...
    async def wait_until_released(self, run_id: str) -> None: ...
    def follow_events(self, run_id: str, after_id: str | None) -> AsyncIterator[StoredEvent]:
        """The events of a run executed elsewhere: after ``after_id`` (None: from now on;
        ``-1``: all), then live ones as they are stored, until the run is over."""


class SingleProcess:
    """The only worker: the run manager's memory is the whole truth."""

    def __init__(self, storage: Storage) -> None:
        self._storage = storage

    @property
    def shared(self) -> bool:
        return False

    async def start(self, on_cancel: CancelListener, on_created: RunCreatedListener) -> None:
        return None

    async def stop(self) -> None:
        return None

    def thread_guard(self, thread_id: str) -> AbstractAsyncContextManager[None]:
        return _nothing_held()

    def turn(self, thread_id: str, run_id: str) -> AbstractAsyncContextManager[None]:
        return _nothing_held()

    async def adopt(self, run_id: str, thread_id: str) -> None:
        return None

    async def release(self, run_id: str, thread_id: str) -> None:
        return None

    async def active_runs_elsewhere(self, thread_id: str, local: Sequence[str]) -> list[str]:
        return []

    async def executing_elsewhere(self, run_id: str) -> bool:
        return False

    async def orphaned_runs(self, statuses: Sequence[str]) -> list[Record]:
        # Alone on its storage, a starting process owns nothing yet: every active run is a
        # previous process's.
        return await self._storage.list_runs_with_status(statuses)

    def settling(self) -> AbstractAsyncContextManager[bool]:
        return _always_mine()

    async def request_cancel(self, run_id: str, action: CancelAction, reason: str) -> None:
        raise RuntimeError("a single process has no other worker to cancel a run in")

    async def wait_until_released(self, run_id: str) -> None:
        raise RuntimeError("a single process has no other worker to wait for")

    def follow_events(self, run_id: str, after_id: str | None) -> AsyncIterator[StoredEvent]:
        raise RuntimeError("a single process has no other worker to follow a run in")


def workers_for(storage: Storage) -> Workers:
    """``PostgresWorkers`` on Postgres storage, else ``SingleProcess``."""
    # Looked up, not imported: the embedded default runs without the Postgres driver, and a
    # PostgresStorage exists only once its module is loaded.
    postgres = sys.modules.get("reference_server.storage.postgres")
    if postgres is not None and isinstance(storage, postgres.PostgresStorage):
        from reference_server.storage.postgres_workers import PostgresWorkers

        return PostgresWorkers(storage)
    return SingleProcess(storage)


@asynccontextmanager
async def _nothing_held() -> AsyncIterator[None]:
    yield


@asynccontextmanager
async def _always_mine() -> AsyncIterator[bool]:
    yield True
