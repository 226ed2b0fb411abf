"""The embedded default: one SQLite file holding assistants, their versions, threads, runs,
run stream events, store items and checkpoints, so a restart loses nothing.

Every statement runs on the event loop's own thread, through one ``sqlite3`` connection that
ours, the checkpointer (``SqliteSaver``) and the store (``SqliteStore``) share. A transaction
is a plain function call with no ``await`` inside, so no two transactions ever interleave:
``database is locked`` cannot happen inside the process, and a run cancelled mid-write
cannot leave a transaction open. The alternative, ``aiosqlite``, sends every statement to its
thread and back (a future, a queue, a wake-up of the loop each way), and the transactions
queued behind one lock across those round trips: at 50 streams the server did 0.66x the runs/s
of its in-memory mode that way, and 0.89x this way (docs/benchmarks.md). A commit here takes
tens of microseconds (WAL, ``synchronous=NORMAL``: it does not wait for the disk); the WAL's
automatic checkpoint, once every ~4 MB written, does, and holds the loop for a few milliseconds
(on the development machine: median commit 40 us, p99 140 us, the slowest 10 ms of 20,000).

A graph's synchronous node runs in a worker thread, and may call the store's (or the
checkpointer's) synchronous methods there: those calls are handed to the loop and waited for,
as LangGraph's async SQLite classes do, so that no statement ever runs beside a transaction.

The records and their SQL are the SQL backends' shared ones (``sql.py``).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import sqlite3
import threading
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    BaseCheckpointSaver,
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
)
from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.store.base import BaseStore, Op, Result
from langgraph.store.sqlite import SqliteStore

from reference_server.storage.sql import SqlDialect, SqlRecordStore, Statement

_LOGGER = logging.getLogger(__name__)
# Only another process on the same file can hold its write lock (a second server, a tool);
# the loop waits for it rather than fail the write.
_BUSY_TIMEOUT_MILLISECONDS = 30_000

_DIALECT = SqlDialect(placeholder="?", binary_type="BLOB", array_parameters=False)

_Result = TypeVar("_Result")


class SqliteStorage(SqlRecordStore):
    def __init__(self, path: Path) -> None:
        super().__init__(_DIALECT)
        self.path = Path(path)
        self._connection: sqlite3.Connection | None = None
        # Set by open().
        self.checkpointer: BaseCheckpointSaver[Any] = None  # type: ignore[assignment]
        self.store: BaseStore = None  # type: ignore[assignment]

    # lifecycle --------------------------------------------------------------------------
    async def open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        connection = _connect(self.path)
        with connection:
            connection.executescript(";\n".join(_DIALECT.schema()) + ";")
        loop = _LoopThread(asyncio.get_running_loop(), threading.get_ident())
        checkpointer = _LoopSqliteSaver(connection, loop)
        store = _LoopSqliteStore(connection, loop)
        checkpointer.setup()
        store.setup()
        # The store's migrations expect an autocommit connection: commit what they wrote.
        connection.commit()
        self._connection = connection
        self.checkpointer = checkpointer
        self.store = store

    async def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
        self._connection = None

    @property
    def _db(self) -> sqlite3.Connection:
        if self._connection is None:
            raise RuntimeError(f"SqliteStorage({self.path}) is not open")
        return self._connection

    async def _run_transaction(self, statements: list[Statement]) -> None:
        database = self._db
        if database.in_transaction:
            # Only a library statement that failed between its implicit BEGIN and its COMMIT
            # could leave one open; it must not swallow this write.
            _LOGGER.warning("rolling back a transaction a failed statement left open")
            database.rollback()
        database.execute("BEGIN IMMEDIATE")
        try:
            for sql, parameters in statements:
                database.execute(sql, parameters)
        except BaseException:
            database.rollback()
            raise
        database.commit()

    async def _fetch(self, sql: str, parameters: Sequence[Any]) -> list[Sequence[Any]]:
        return self._db.execute(sql, parameters).fetchall()


class _LoopThread:
    """The loop the connection belongs to, and its thread: where every statement runs."""

    def __init__(self, loop: asyncio.AbstractEventLoop, thread_id: int) -> None:
        self._loop = loop
        self._thread_id = thread_id

    def call(self, function: Callable[[], _Result]) -> _Result:
        """``function()`` run on the loop's thread: at once there, or handed to the loop and
        waited for from any other thread."""
        if threading.get_ident() == self._thread_id:
            return function()

        async def on_loop() -> _Result:
            return function()

        return asyncio.run_coroutine_threadsafe(on_loop(), self._loop).result()


class _LoopSqliteSaver(SqliteSaver):
    """LangGraph's SQLite checkpointer, answered on the loop's thread (see the module's
    docstring): its async methods by its synchronous ones, its synchronous ones by way of the
    loop when called from another thread."""

    def __init__(self, connection: sqlite3.Connection, loop: _LoopThread) -> None:
        super().__init__(connection)
        self._loop_thread = loop

    # synchronous, from any thread -------------------------------------------------------
    def get_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        return self._loop_thread.call(functools.partial(SqliteSaver.get_tuple, self, config))

    def list(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> Iterator[CheckpointTuple]:
        # Read whole: the library's generator holds its lock and a cursor between items.
        read = functools.partial(
            SqliteSaver.list, self, config, filter=filter, before=before, limit=limit
        )
        return iter(self._loop_thread.call(lambda: [*read()]))

    def put(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        return self._loop_thread.call(
            functools.partial(SqliteSaver.put, self, config, checkpoint, metadata, new_versions)
        )

    def put_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        self._loop_thread.call(
            functools.partial(SqliteSaver.put_writes, self, config, writes, task_id, task_path)
        )

    def delete_thread(self, thread_id: str) -> None:
        self._loop_thread.call(functools.partial(SqliteSaver.delete_thread, self, thread_id))

    def get_delta_channel_history(self, *args: Any, **kwargs: Any) -> Any:
        return self._loop_thread.call(
            functools.partial(SqliteSaver.get_delta_channel_history, self, *args, **kwargs)
        )

    # asynchronous, on the loop ----------------------------------------------------------
    async def aget_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        return self.get_tuple(config)

    async def alist(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[CheckpointTuple]:
        for checkpoint in self.list(config, filter=filter, before=before, limit=limit):
            yield checkpoint

    async def aput(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        return self.put(config, checkpoint, metadata, new_versions)

    async def aput_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        self.put_writes(config, writes, task_id, task_path)

    async def adelete_thread(self, thread_id: str) -> None:
        self.delete_thread(thread_id)

    async def aget_delta_channel_history(self, *args: Any, **kwargs: Any) -> Any:
        return self.get_delta_channel_history(*args, **kwargs)


class _LoopSqliteStore(SqliteStore):
    """LangGraph's SQLite store, answered on the loop's thread like the checkpointer,
    searching in the order items were written, as langgraph dev lists them."""

    def __init__(self, connection: sqlite3.Connection, loop: _LoopThread) -> None:
        super().__init__(connection)
        self._loop_thread = loop

    def batch(self, ops: Iterable[Op]) -> list[Result]:
        return self._loop_thread.call(functools.partial(SqliteStore.batch, self, list(ops)))

    async def abatch(self, ops: Iterable[Op]) -> list[Result]:
        return self.batch(ops)

    def _prepare_batch_PUT_queries(self, put_ops: Any) -> Any:
        # An update keeps the item's place (its rowid), as langgraph dev's store does: the
        # library's INSERT OR REPLACE deletes the row and appends a new one.
        queries, embedding_request = super()._prepare_batch_PUT_queries(put_ops)
        kept = [
            (sql.replace(_LIBRARY_PUT, "INSERT INTO store (") + _UPDATE_IN_PLACE, params)
            if _LIBRARY_PUT in sql
            else (sql, params)
            for sql, params in queries
        ]
        return kept, embedding_request

    def _prepare_batch_search_queries(self, search_ops: Any) -> Any:
        # The library orders by updated_at, a CURRENT_TIMESTAMP of one-second resolution: two
        # items written either side of a second boundary came back newest first, within one
        # second oldest first. The rowid is the order items were first written in.
        queries, embedding_requests = super()._prepare_batch_search_queries(search_ops)
        ordered = [
            (sql.replace(_LIBRARY_SEARCH_ORDER, _WRITTEN_ORDER), params, refresh)
            for sql, params, refresh in queries
        ]
        return ordered, embedding_requests


_LIBRARY_PUT = "INSERT OR REPLACE INTO store ("
_UPDATE_IN_PLACE = (
    " ON CONFLICT(prefix, key) DO UPDATE SET value = excluded.value,"
    " updated_at = excluded.updated_at, expires_at = excluded.expires_at,"
    " ttl_minutes = excluded.ttl_minutes"
)
_LIBRARY_SEARCH_ORDER = " ORDER BY updated_at DESC"
_WRITTEN_ORDER = " ORDER BY rowid ASC"


def _connect(path: Path) -> sqlite3.Connection:
    # sqlite3's default transaction handling, as the checkpointer expects (it commits itself);
    # ours and the store's open their transactions explicitly.
    connection = sqlite3.connect(str(path), check_same_thread=False)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute(f"PRAGMA busy_timeout={_BUSY_TIMEOUT_MILLISECONDS}")
    connection.execute("PRAGMA synchronous=NORMAL")
    return connection
