"""Postgres storage, shared by every worker process: assistants, their versions, threads,
runs, run stream events, store items (``AsyncPostgresStore``) and checkpoints
(``AsyncPostgresSaver``), all in one database reached through one connection pool.

The records and their SQL are the SQL backends' shared ones (``sql.py``). Appending events also
sends ``NOTIFY`` on ``EVENTS_CHANNEL`` in the same transaction, so a worker streaming a run
that executes in another worker learns of new events as they are committed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from langgraph.store.base import BaseStore, Op, Result, SearchOp
from langgraph.store.postgres.aio import AsyncPostgresStore
from psycopg import AsyncConnection
from psycopg.rows import DictRow, dict_row, tuple_row
from psycopg_pool import AsyncConnectionPool

from reference_server.settings import is_postgres_url
from reference_server.storage.base import StoredEvent
from reference_server.storage.shielded import ShieldedCheckpointWrites
from reference_server.storage.sql import INSERT_EVENT, SqlDialect, SqlRecordStore, Statement

EVENTS_CHANNEL = "rs_run_events"
"""``NOTIFY`` channel: a run's new events are committed (payload: the run id)."""
_POOL_SIZE = 20
# Any constant: the workers of one database take it in turn to create the schema, as
# ``CREATE TABLE IF NOT EXISTS`` run concurrently can still collide.
_SCHEMA_LOCK = (0x7273_0003, 0)
_SCHEMA_LOCK_RETRY_SECONDS = 0.05
_NEWEST_FIRST = "ORDER BY store.updated_at DESC"
_OLDEST_FIRST = "ORDER BY store.created_at ASC, store.key ASC"

_DIALECT = SqlDialect(
    placeholder="%s",
    binary_type="BYTEA",
    array_parameters=True,
    # The order runs were inserted in: runs of one thread execute in it (``postgres_workers``).
    run_sequence_type="BIGSERIAL",
)
_INSERT_EVENT = _DIALECT.statement(INSERT_EVENT)
_SCHEMA = [
    *_DIALECT.schema(),
    # Which worker process executes each unfinished run (see ``postgres_workers.py``).
    """CREATE TABLE IF NOT EXISTS rs_run_workers (
        run_id TEXT PRIMARY KEY,
        thread_id TEXT NOT NULL,
        worker INTEGER NOT NULL
    )""",
]


class PostgresStorage(SqlRecordStore):
    def __init__(self, url: str, *, pool_size: int = _POOL_SIZE) -> None:
        if not is_postgres_url(url):
            raise ValueError(f"a Postgres URL starts with postgresql://, got {url!r}")
        super().__init__(_DIALECT)
        self.url = url
        self._pool_size = pool_size
        self._pool: AsyncConnectionPool[AsyncConnection[DictRow]] | None = None
        # Set by open(); the protocol types them as the base classes.
        self.checkpointer: BaseCheckpointSaver[Any] = None  # type: ignore[assignment]
        self.store: BaseStore = None  # type: ignore[assignment]

    # lifecycle --------------------------------------------------------------------------
    async def open(self) -> None:
        pool: AsyncConnectionPool[AsyncConnection[DictRow]] = AsyncConnectionPool(
            self.url,
            min_size=2,
            max_size=self._pool_size,
            open=False,
            # What the LangGraph savers need: autocommit, rows as dicts, no server-side
            # prepared statements (safe behind a connection pooler).
            kwargs={"autocommit": True, "prepare_threshold": None, "row_factory": dict_row},
            connection_class=AsyncConnection[DictRow],
        )
        await pool.open(wait=True, timeout=30)
        self._pool = pool
        checkpointer = _ShieldedPostgresSaver(pool)
        store = _ShieldedPostgresStore(pool)
        async with pool.connection() as connection:
            await _take_schema_lock(connection)
            try:
                for statement in _SCHEMA:
                    await connection.execute(statement)
                await checkpointer.setup()
                await store.setup()
            finally:
                await connection.execute("SELECT pg_advisory_unlock(%s, %s)", _SCHEMA_LOCK)
        self.checkpointer = checkpointer
        self.store = store

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    @property
    def pool(self) -> AsyncConnectionPool[AsyncConnection[DictRow]]:
        if self._pool is None:
            raise RuntimeError(f"PostgresStorage({self.url}) is not open")
        return self._pool

    async def _run_transaction(self, statements: list[Statement]) -> None:
        async with self.pool.connection() as connection, connection.transaction():
            for sql, parameters in statements:
                await connection.execute(sql, parameters)

    async def _fetch(self, sql: str, parameters: Sequence[Any]) -> list[Sequence[Any]]:
        # The pool's connections make dict rows, as the savers need; ours are read by position.
        async with (
            self.pool.connection() as connection,
            connection.cursor(row_factory=tuple_row) as cursor,
        ):
            await cursor.execute(sql, parameters)
            return list(await cursor.fetchall())

    # run stream events ------------------------------------------------------------------
    async def append_events(self, run_id: str, events: Sequence[StoredEvent]) -> None:
        if not events:
            return

        async def _append() -> None:
            async with self.pool.connection() as connection, connection.transaction():
                async with connection.cursor() as cursor:
                    await cursor.executemany(
                        _INSERT_EVENT,
                        [(run_id, event.id, event.event, event.data) for event in events],
                    )
                await connection.execute("SELECT pg_notify(%s, %s)", (EVENTS_CHANNEL, run_id))

        await asyncio.shield(_append())


class _ShieldedPostgresSaver(ShieldedCheckpointWrites, AsyncPostgresSaver):
    """Checkpoint writes that finish even when the run writing them is cancelled (see
    ``shielded.py``), and that run side by side: the saver takes one process-wide lock around
    every query, which only a single shared connection needs; from a pool each query has a
    connection of its own. With the lock, every run of the process waited its turn for each
    checkpoint read and write."""

    def __init__(self, pool: AsyncConnectionPool[AsyncConnection[DictRow]]) -> None:
        super().__init__(pool)
        self.lock = _NoLock()  # type: ignore[assignment]  # used only as `async with`


class _NoLock:
    async def __aenter__(self) -> None:
        return None

    async def __aexit__(self, *exc_info: object) -> None:
        return None


class _ShieldedPostgresStore(AsyncPostgresStore):
    """Store batches that finish even when their caller is cancelled (see ``shielded.py``),
    and searches without a query in the order ``langgraph dev`` answers them: oldest item
    first (its in-memory store keeps insertion order), not most recently updated first."""

    async def abatch(self, ops: Iterable[Op]) -> list[Result]:
        return await asyncio.shield(super().abatch(list(ops)))

    def _prepare_batch_search_queries(
        self, search_ops: Sequence[tuple[int, SearchOp]]
    ) -> tuple[list[tuple[str, list[str | list[float] | None]]], list[tuple[int, str]]]:
        queries, embedding_requests = super()._prepare_batch_search_queries(search_ops)
        for position, (sql, parameters) in enumerate(queries):
            if _NEWEST_FIRST not in sql:
                raise RuntimeError(
                    "langgraph-checkpoint-postgres changed its search query: "
                    "the insertion order of store searches needs a new look"
                )
            queries[position] = (sql.replace(_NEWEST_FIRST, _OLDEST_FIRST), parameters)
        return queries, embedding_requests


async def _take_schema_lock(connection: AsyncConnection[DictRow]) -> None:
    """Tried, never waited for inside Postgres: the savers create indexes ``CONCURRENTLY``,
    which waits for every open statement to end, a blocked ``pg_advisory_lock`` included; the
    worker holding the lock would wait forever for the worker waiting on it."""
    while True:
        cursor = await connection.execute(
            "SELECT pg_try_advisory_lock(%s, %s) AS mine", _SCHEMA_LOCK
        )
        row = await cursor.fetchone()
        if row is not None and row["mine"]:
            return
        await asyncio.sleep(_SCHEMA_LOCK_RETRY_SECONDS)
