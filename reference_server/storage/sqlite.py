"""The embedded default: one SQLite file holding assistants, their versions, threads, runs,
run stream events, store items (``AsyncSqliteStore``) and checkpoints (``AsyncSqliteSaver``),
so a restart loses nothing.

One connection and one lock serve all three: ours, the checkpointer and the store. Every
statement runs under the lock, each write in a transaction of its own, so no two transactions
ever contend for the file and ``database is locked`` cannot happen inside the process (with
three connections in WAL mode it did, under load: a connection holding a read snapshot cannot
upgrade it to a write once another has committed, and SQLite answers that at once, without
waiting). Measured against that layout, one connection was also the faster one
(docs/benchmarks.md). The records and their SQL are the SQL backends' shared ones
(``sql.py``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import aiosqlite
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver
from langgraph.store.base import BaseStore, Op, Result
from langgraph.store.sqlite.aio import AsyncSqliteStore

from reference_server.storage.shielded import ShieldedCheckpointWrites
from reference_server.storage.sql import SqlDialect, SqlRecordStore, Statement

_LOGGER = logging.getLogger(__name__)
# Only another process on the same file can hold the lock now; wait for it rather than fail.
_BUSY_TIMEOUT_MILLISECONDS = 30_000

_DIALECT = SqlDialect(placeholder="?", binary_type="BLOB", array_parameters=False)


class SqliteStorage(SqlRecordStore):
    def __init__(self, path: Path) -> None:
        super().__init__(_DIALECT)
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
            await self._connection.executescript(";\n".join(_DIALECT.schema()) + ";")
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

    async def _run_transaction(self, statements: list[Statement]) -> None:
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

    async def _fetch(self, sql: str, parameters: Sequence[Any]) -> list[Sequence[Any]]:
        database = self._db
        async with self._lock, database.execute(sql, parameters) as cursor:
            return list(await cursor.fetchall())


class _ShieldedSqliteSaver(ShieldedCheckpointWrites, AsyncSqliteSaver):
    """Checkpoint writes that finish even when the run writing them is cancelled (see
    ``shielded.py``)."""


class _ShieldedSqliteStore(AsyncSqliteStore):
    """Store batches that finish even when their caller is cancelled (see ``shielded.py``),
    and searches in the order items were written, as langgraph dev lists them."""

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
