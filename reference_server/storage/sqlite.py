"""The embedded default: one SQLite file holding assistants, their versions, threads, runs,
run stream events, store items (``AsyncSqliteStore``) and checkpoints (``AsyncSqliteSaver``),
so a restart loses nothing.

One connection and one lock serve all three: ours, the checkpointer and the store. Every
statement runs under the lock, each write in a transaction of its own, so no two transactions
ever contend for the file and ``database is locked`` cannot happen inside the process (with
three connections in WAL mode it did, under load: a connection holding a read snapshot cannot
upgrade it to a write once another has committed, and SQLite answers that at once, without
waiting). Measured against that layout, one connection was also the faster one
(docs/benchmarks.md). Records are kept as JSON next to the columns used to select them;
filters on metadata and values run in Python (see ``records.py``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import aiosqlite
import orjson
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    BaseCheckpointSaver,
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
)
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver
from langgraph.store.base import BaseStore, Op, Result
from langgraph.store.sqlite.aio import AsyncSqliteStore

from reference_server.storage.base import Record, StoredEvent, owner_of
from reference_server.storage.records import (
    ASSISTANT_SORT_FIELDS,
    THREAD_SORT_FIELDS,
    contains,
    page,
    sort_records,
    version_of,
    visible_to,
)
from reference_server.streaming.serialise import dumps

_LOGGER = logging.getLogger(__name__)
# Only another process on the same file can hold the lock now; wait for it rather than fail.
_BUSY_TIMEOUT_MILLISECONDS = 30_000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS rs_assistants (
    assistant_id TEXT PRIMARY KEY,
    owner TEXT,
    graph_id TEXT NOT NULL,
    data BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS rs_assistant_versions (
    assistant_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (assistant_id, version)
);
CREATE TABLE IF NOT EXISTS rs_threads (
    thread_id TEXT PRIMARY KEY,
    owner TEXT,
    status TEXT,
    data BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS rs_runs (
    run_id TEXT PRIMARY KEY,
    thread_id TEXT,
    owner TEXT,
    status TEXT,
    created_at TEXT,
    data BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS rs_runs_by_thread ON rs_runs (thread_id, created_at);
CREATE INDEX IF NOT EXISTS rs_runs_by_status ON rs_runs (status);
CREATE TABLE IF NOT EXISTS rs_run_events (
    run_id TEXT NOT NULL,
    event_id TEXT NOT NULL,
    event TEXT NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (run_id, event_id)
);
"""


class SqliteStorage:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._connection: aiosqlite.Connection | None = None
        # Set by open(); the protocol types them as the base classes.
        self.checkpointer: BaseCheckpointSaver[Any] = None  # type: ignore[assignment]
        self.store: BaseStore = None  # type: ignore[assignment]
        self._lock = asyncio.Lock()

    # lifecycle --------------------------------------------------------------------------
    async def open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._connection = await _connect(self.path)
        async with self._lock:
            await self._connection.executescript(_SCHEMA)
            await self._connection.commit()
        checkpointer = _ShieldedSqliteSaver(self._connection)
        store = _ShieldedSqliteStore(self._connection)
        # Both libraries serialise their statements with a lock of their own; sharing ours
        # makes every statement on the one connection take turns, transactions included.
        checkpointer.lock = self._lock
        store.lock = self._lock
        await checkpointer.setup()
        await store.setup()
        async with self._lock:
            # The store's migrations expect an autocommit connection: commit what they wrote.
            await self._connection.commit()
        self.checkpointer = checkpointer
        self.store = store

    async def close(self) -> None:
        if self._connection is not None:
            async with self._lock:
                await self._connection.close()
        self._connection = None

    @property
    def _db(self) -> aiosqlite.Connection:
        if self._connection is None:
            raise RuntimeError(f"SqliteStorage({self.path}) is not open")
        return self._connection

    async def _write(self, statements: Iterable[tuple[str, Sequence[Any]]]) -> None:
        """Runs the statements in one transaction, shielded: a caller cancelled mid-write (a
        run being cancelled) must not leave the connection inside an open transaction."""
        await asyncio.shield(self._transaction(list(statements)))

    async def _transaction(self, statements: list[tuple[str, Sequence[Any]]]) -> None:
        database = self._db
        async with self._lock:
            if database.in_transaction:
                # Only a library statement that failed between its implicit BEGIN and its
                # COMMIT leaves one open (nothing else runs while we hold the lock).
                _LOGGER.warning("rolling back a transaction a failed statement left open")
                await database.rollback()
            await database.execute("BEGIN IMMEDIATE")
            try:
                for sql, parameters in statements:
                    await database.execute(sql, parameters)
            except BaseException:
                await database.rollback()
                raise
            await database.commit()

    async def _rows(self, sql: str, parameters: Sequence[Any] = ()) -> list[Any]:
        database = self._db
        async with self._lock, database.execute(sql, parameters) as cursor:
            return list(await cursor.fetchall())

    async def _records(self, sql: str, parameters: Sequence[Any] = ()) -> list[Record]:
        return [orjson.loads(row[0]) for row in await self._rows(sql, parameters)]

    # assistants -------------------------------------------------------------------------
    async def put_assistant(self, assistant: Record) -> None:
        assistant_id = str(assistant["assistant_id"])
        await self._write(
            [
                (
                    "INSERT INTO rs_assistants (assistant_id, owner, graph_id, data) "
                    "VALUES (?, ?, ?, ?) ON CONFLICT (assistant_id) DO UPDATE SET "
                    "owner = excluded.owner, graph_id = excluded.graph_id, data = excluded.data",
                    (assistant_id, owner_of(assistant), assistant["graph_id"], _dump(assistant)),
                ),
                # The history is immutable: re-putting an old version (``/latest``) keeps it.
                (
                    "INSERT OR IGNORE INTO rs_assistant_versions (assistant_id, version, data) "
                    "VALUES (?, ?, ?)",
                    (assistant_id, int(assistant["version"]), _dump(version_of(assistant))),
                ),
            ]
        )

    async def get_assistant(self, assistant_id: str, owner: str | None) -> Record | None:
        found = await self._records(
            "SELECT data FROM rs_assistants WHERE assistant_id = ?", (assistant_id,)
        )
        if not found or not visible_to(found[0], owner, unowned_visible=True):
            return None
        return found[0]

    async def delete_assistant(self, assistant_id: str, owner: str | None) -> bool:
        if await self.get_assistant(assistant_id, owner) is None:
            return False
        await self._write(
            [
                ("DELETE FROM rs_assistants WHERE assistant_id = ?", (assistant_id,)),
                ("DELETE FROM rs_assistant_versions WHERE assistant_id = ?", (assistant_id,)),
            ]
        )
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
        conditions, parameters = _owner_condition(owner, unowned_visible=True)
        if graph_id is not None:
            conditions.append("graph_id = ?")
            parameters.append(graph_id)
        candidates = await self._records(
            "SELECT data FROM rs_assistants" + _where(conditions), parameters
        )
        matching = [
            assistant
            for assistant in candidates
            if (name is None or name.lower() in str(assistant.get("name") or "").lower())
            and contains(assistant.get("metadata"), metadata)
        ]
        ordered = sort_records(matching, sort_by, sort_order, ASSISTANT_SORT_FIELDS)
        return page(ordered, limit, offset), len(ordered)

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
        versions = await self._records(
            "SELECT data FROM rs_assistant_versions WHERE assistant_id = ? ORDER BY version DESC",
            (assistant_id,),
        )
        matching = [entry for entry in versions if contains(entry.get("metadata"), metadata)]
        return page(matching, limit, offset)

    # threads ----------------------------------------------------------------------------
    async def put_thread(self, thread: Record) -> None:
        await self._write(
            [
                (
                    "INSERT INTO rs_threads (thread_id, owner, status, data) VALUES (?, ?, ?, ?) "
                    "ON CONFLICT (thread_id) DO UPDATE SET owner = excluded.owner, "
                    "status = excluded.status, data = excluded.data",
                    (
                        str(thread["thread_id"]),
                        owner_of(thread),
                        thread.get("status"),
                        _dump(thread),
                    ),
                )
            ]
        )

    async def get_thread(self, thread_id: str, owner: str | None) -> Record | None:
        found = await self._records("SELECT data FROM rs_threads WHERE thread_id = ?", (thread_id,))
        if not found or not visible_to(found[0], owner):
            return None
        return found[0]

    async def delete_thread(self, thread_id: str, owner: str | None) -> bool:
        if await self.get_thread(thread_id, owner) is None:
            return False
        await self._write(
            [
                (
                    "DELETE FROM rs_run_events WHERE run_id IN "
                    "(SELECT run_id FROM rs_runs WHERE thread_id = ?)",
                    (thread_id,),
                ),
                ("DELETE FROM rs_runs WHERE thread_id = ?", (thread_id,)),
                ("DELETE FROM rs_threads WHERE thread_id = ?", (thread_id,)),
            ]
        )
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
        conditions, parameters = _owner_condition(owner)
        if status is not None:
            conditions.append("status = ?")
            parameters.append(status)
        if ids is not None:
            if not ids:
                return [], 0
            conditions.append(f"thread_id IN ({', '.join('?' for _ in ids)})")
            parameters.extend(ids)
        candidates = await self._records(
            "SELECT data FROM rs_threads" + _where(conditions), parameters
        )
        matching = [
            thread
            for thread in candidates
            if contains(thread.get("metadata"), metadata) and contains(thread.get("values"), values)
        ]
        ordered = sort_records(matching, sort_by, sort_order, THREAD_SORT_FIELDS)
        return page(ordered, limit, offset), len(ordered)

    # runs -------------------------------------------------------------------------------
    async def put_run(self, run: Record) -> None:
        thread_id = run.get("thread_id")
        owner = owner_of(run)
        if owner is None and thread_id is not None:
            # A run without an owner of its own belongs to its thread's owner.
            rows = await self._rows(
                "SELECT owner FROM rs_threads WHERE thread_id = ?", (str(thread_id),)
            )
            owner = rows[0][0] if rows else None
        await self._write(
            [
                (
                    "INSERT INTO rs_runs (run_id, thread_id, owner, status, created_at, data) "
                    "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (run_id) DO UPDATE SET "
                    "thread_id = excluded.thread_id, owner = excluded.owner, "
                    "status = excluded.status, created_at = excluded.created_at, "
                    "data = excluded.data",
                    (
                        str(run["run_id"]),
                        str(thread_id) if thread_id is not None else None,
                        owner,
                        run.get("status"),
                        run.get("created_at"),
                        _dump(run),
                    ),
                )
            ]
        )

    async def get_run(self, run_id: str, owner: str | None) -> Record | None:
        conditions, parameters = _owner_condition(owner)
        found = await self._records(
            "SELECT data FROM rs_runs" + _where(["run_id = ?", *conditions]),
            [run_id, *parameters],
        )
        return found[0] if found else None

    async def delete_run(self, run_id: str, owner: str | None) -> bool:
        if await self.get_run(run_id, owner) is None:
            return False
        await self._write(
            [
                ("DELETE FROM rs_run_events WHERE run_id = ?", (run_id,)),
                ("DELETE FROM rs_runs WHERE run_id = ?", (run_id,)),
            ]
        )
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
        conditions, parameters = _owner_condition(owner)
        conditions.append("thread_id = ?")
        parameters.append(thread_id)
        if status is not None:
            conditions.append("status = ?")
            parameters.append(status)
        return await self._records(
            "SELECT data FROM rs_runs"
            + _where(conditions)
            + " ORDER BY created_at DESC, run_id DESC LIMIT ? OFFSET ?",
            [*parameters, limit, offset],
        )

    async def list_runs_with_status(self, statuses: Sequence[str]) -> list[Record]:
        if not statuses:
            return []
        placeholders = ", ".join("?" for _ in statuses)
        return await self._records(
            f"SELECT data FROM rs_runs WHERE status IN ({placeholders}) ORDER BY created_at",
            list(statuses),
        )

    # run stream events ------------------------------------------------------------------
    async def append_events(self, run_id: str, events: Sequence[StoredEvent]) -> None:
        await self._write(
            (
                "INSERT INTO rs_run_events (run_id, event_id, event, data) VALUES (?, ?, ?, ?)",
                (run_id, event.id, event.event, event.data),
            )
            for event in events
        )

    async def list_events(self, run_id: str, after_id: str | None = None) -> list[StoredEvent]:
        sql = "SELECT event_id, event, data FROM rs_run_events WHERE run_id = ?"
        parameters: list[Any] = [run_id]
        if after_id is not None:
            sql += " AND event_id > ?"
            parameters.append(after_id)
        rows = await self._rows(sql + " ORDER BY event_id", parameters)
        return [StoredEvent(id=row[0], event=row[1], data=bytes(row[2])) for row in rows]


class _ShieldedSqliteSaver(AsyncSqliteSaver):
    """Checkpoint writes that finish even when the run writing them is cancelled: cut between
    its INSERT and its COMMIT, the saver would leave its connection holding the file's write
    lock, and every other writer would wait on it."""

    async def aput(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        return await asyncio.shield(super().aput(config, checkpoint, metadata, new_versions))

    async def aput_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        await asyncio.shield(super().aput_writes(config, writes, task_id, task_path))

    async def adelete_thread(self, thread_id: str) -> None:
        await asyncio.shield(super().adelete_thread(thread_id))


class _ShieldedSqliteStore(AsyncSqliteStore):
    """Store batches that finish even when their caller is cancelled (see above), and searches
    in the order items were written, as langgraph dev lists them."""

    async def abatch(self, ops: Iterable[Op]) -> list[Result]:
        return await asyncio.shield(super().abatch(list(ops)))

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


async def _connect(path: Path) -> aiosqlite.Connection:
    # sqlite3's default transaction handling, as the checkpointer expects (it commits itself);
    # ours and the store's open their transactions explicitly.
    connection = await aiosqlite.connect(str(path))
    await connection.execute("PRAGMA journal_mode=WAL")
    await connection.execute(f"PRAGMA busy_timeout={_BUSY_TIMEOUT_MILLISECONDS}")
    await connection.execute("PRAGMA synchronous=NORMAL")
    return connection


def _dump(record: Record) -> bytes:
    # The API's own encoder: a record holding a stray LangChain object still stores as the
    # JSON the API would have sent for it.
    return dumps(record)


def _owner_condition(
    owner: str | None, *, unowned_visible: bool = False
) -> tuple[list[str], list[Any]]:
    if owner is None:
        return [], []
    if unowned_visible:
        return ["(owner = ? OR owner IS NULL)"], [owner]
    return ["owner = ?"], [owner]


def _where(conditions: list[str]) -> str:
    return " WHERE " + " AND ".join(conditions) if conditions else ""
