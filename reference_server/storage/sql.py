"""The record store both SQL backends share: their tables, their statements and the mapping
between rows and records, written once over a small ``SqlDialect``.

Records are kept as the exact JSON bytes the API answers with (a binary column, not a JSON
type, which would reorder their keys) next to the columns used to select them; filters on
metadata and values run in Python, as in the memory backend (see ``records.py``). Statements
are written with ``?`` placeholders and put into the dialect's own style once, on their way to
the database. How a backend reaches its database (SQLite's one connection under one lock,
Postgres's pool) is its own: a subclass supplies ``_run_transaction`` and ``_fetch``.
"""

from __future__ import annotations

import asyncio
import functools
from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.store.base import BaseStore

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
from reference_server.streaming.serialise import dumps

Statement = tuple[str, Sequence[Any]]
"""One SQL statement (``?`` placeholders) and its parameters."""


@dataclass(frozen=True, slots=True)
class SqlDialect:
    """What the two backends' SQL differs in; everything else is written once."""

    placeholder: str
    """The driver's parameter marker: ``?`` (sqlite3) or ``%s`` (psycopg)."""
    binary_type: str
    """The column type of the records' JSON bytes."""
    array_parameters: bool
    """Whether a list binds as one array parameter (``= ANY(?)``) rather than one marker a
    value (``IN (?, ?)``)."""
    run_sequence_type: str | None = None
    """The type of ``rs_runs.sequence``, the order runs were inserted in, where the backend
    needs that column (SQLite's rowid is that order already)."""

    def statement(self, sql: str) -> str:
        """``sql`` with its ``?`` placeholders in this dialect's style."""
        if self.placeholder == "?":
            return sql
        return _with_placeholder(sql, self.placeholder)

    def one_of(self, column: str, values: Sequence[Any]) -> tuple[str, list[Any]]:
        """The condition "``column`` is one of ``values``" (not empty) and its parameters."""
        if self.array_parameters:
            return f"{column} = ANY(?)", [list(values)]
        return f"{column} IN ({', '.join('?' for _ in values)})", list(values)

    def schema(self) -> list[str]:
        """The statements creating the record tables, each idempotent."""
        binary = self.binary_type
        sequence = f"sequence {self.run_sequence_type}, " if self.run_sequence_type else ""
        return [
            "CREATE TABLE IF NOT EXISTS rs_assistants (assistant_id TEXT PRIMARY KEY, "
            f"owner TEXT, graph_id TEXT NOT NULL, data {binary} NOT NULL)",
            "CREATE TABLE IF NOT EXISTS rs_assistant_versions (assistant_id TEXT NOT NULL, "
            f"version INTEGER NOT NULL, data {binary} NOT NULL, "
            "PRIMARY KEY (assistant_id, version))",
            "CREATE TABLE IF NOT EXISTS rs_threads (thread_id TEXT PRIMARY KEY, owner TEXT, "
            f"status TEXT, data {binary} NOT NULL)",
            f"CREATE TABLE IF NOT EXISTS rs_runs (run_id TEXT PRIMARY KEY, {sequence}"
            f"thread_id TEXT, owner TEXT, status TEXT, created_at TEXT, data {binary} NOT NULL)",
            "CREATE INDEX IF NOT EXISTS rs_runs_by_thread ON rs_runs (thread_id, created_at)",
            "CREATE INDEX IF NOT EXISTS rs_runs_by_status ON rs_runs (status)",
            "CREATE TABLE IF NOT EXISTS rs_run_events (run_id TEXT NOT NULL, "
            f"event_id TEXT NOT NULL, event TEXT NOT NULL, data {binary} NOT NULL, "
            "PRIMARY KEY (run_id, event_id))",
        ]


INSERT_EVENT = "INSERT INTO rs_run_events (run_id, event_id, event, data) VALUES (?, ?, ?, ?)"


class SqlRecordStore(ABC):
    """The ``Storage`` record methods over SQL; a backend adds ``open``, ``close``, the
    checkpointer and store, and how statements reach its database."""

    checkpointer: BaseCheckpointSaver[Any]
    store: BaseStore

    def __init__(self, dialect: SqlDialect) -> None:
        self.dialect = dialect

    # what a backend supplies ------------------------------------------------------------
    @abstractmethod
    async def _run_transaction(self, statements: list[Statement]) -> None:
        """Runs the statements (in the dialect's style) in one transaction."""

    @abstractmethod
    async def _fetch(self, sql: str, parameters: Sequence[Any]) -> list[Sequence[Any]]:
        """The rows of one query (in the dialect's style), each a sequence of its columns."""

    # statements -------------------------------------------------------------------------
    async def _write(self, statements: Iterable[Statement]) -> None:
        """Runs the statements in one transaction, shielded: a caller cancelled mid-write (a
        run being cancelled) still writes all or nothing, and leaves no transaction open."""
        translated = [(self.dialect.statement(sql), parameters) for sql, parameters in statements]
        await asyncio.shield(self._run_transaction(translated))

    async def _rows(self, sql: str, parameters: Sequence[Any] = ()) -> list[Sequence[Any]]:
        return await self._fetch(self.dialect.statement(sql), parameters)

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
                    (assistant_id, owner_of(assistant), assistant["graph_id"], dumps(assistant)),
                ),
                # The history is immutable: re-putting an old version (``/latest``) keeps it.
                (
                    "INSERT INTO rs_assistant_versions (assistant_id, version, data) "
                    "VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                    (assistant_id, int(assistant["version"]), dumps(version_of(assistant))),
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
            if assistant_matches(assistant, name=name, metadata=metadata)
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
                        dumps(thread),
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
            condition, id_parameters = self.dialect.one_of("thread_id", ids)
            conditions.append(condition)
            parameters.extend(id_parameters)
        candidates = await self._records(
            "SELECT data FROM rs_threads" + _where(conditions), parameters
        )
        matching = [
            thread
            for thread in candidates
            if thread_matches(thread, metadata=metadata, values=values)
        ]
        ordered = sort_records(matching, sort_by, sort_order, THREAD_SORT_FIELDS)
        return page(ordered, limit, offset), len(ordered)

    # runs -------------------------------------------------------------------------------
    async def put_run(self, run: Record) -> None:
        thread_id = run.get("thread_id")
        thread_key = str(thread_id) if thread_id is not None else None
        # A run without an owner of its own belongs to its thread's owner.
        await self._write(
            [
                (
                    "INSERT INTO rs_runs (run_id, thread_id, owner, status, created_at, data) "
                    "VALUES (?, ?, COALESCE(?, (SELECT owner FROM rs_threads "
                    "WHERE thread_id = ?)), ?, ?, ?) ON CONFLICT (run_id) DO UPDATE SET "
                    "thread_id = excluded.thread_id, owner = excluded.owner, "
                    "status = excluded.status, created_at = excluded.created_at, "
                    "data = excluded.data",
                    (
                        str(run["run_id"]),
                        thread_key,
                        owner_of(run),
                        thread_key,
                        run.get("status"),
                        run.get("created_at"),
                        dumps(run),
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
        condition, parameters = self.dialect.one_of("status", statuses)
        return await self._records(
            f"SELECT data FROM rs_runs WHERE {condition} ORDER BY created_at", parameters
        )

    # run stream events ------------------------------------------------------------------
    async def append_events(self, run_id: str, events: Sequence[StoredEvent]) -> None:
        await self._write(
            (INSERT_EVENT, (run_id, event.id, event.event, event.data)) for event in events
        )

    async def list_events(self, run_id: str, after_id: str | None = None) -> list[StoredEvent]:
        sql = "SELECT event_id, event, data FROM rs_run_events WHERE run_id = ?"
        parameters: list[Any] = [run_id]
        if after_id is not None:
            sql += " AND event_id > ?"
            parameters.append(after_id)
        rows = await self._rows(sql + " ORDER BY event_id", parameters)
        return [StoredEvent(id=row[0], event=row[1], data=bytes(row[2])) for row in rows]


@functools.lru_cache(maxsize=512)
def _with_placeholder(sql: str, placeholder: str) -> str:
    # No statement here holds a literal "?" (or a "%", which psycopg would read as a marker).
    return sql.replace("?", placeholder)


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
