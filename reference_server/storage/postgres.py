"""Postgres storage, shared by every worker process: assistants, their versions, threads,
runs, run stream events, store items (``AsyncPostgresStore``) and checkpoints
(``AsyncPostgresSaver``), all in one database reached through one connection pool.

Records are kept as the exact JSON bytes the API answers with (``bytea``, not ``jsonb``, which
would reorder their keys) next to the columns used to select them; filters on metadata and
values run in Python, as in the other backends (see ``records.py``). Appending events also
sends ``NOTIFY`` on ``EVENTS_CHANNEL`` in the same transaction, so a worker streaming a run
that executes in another worker learns of new events as they are committed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from typing import Any

import orjson
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    BaseCheckpointSaver,
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
)
from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from langgraph.store.base import BaseStore, Op, Result, SearchOp
from langgraph.store.postgres.aio import AsyncPostgresStore
from psycopg import AsyncConnection
from psycopg.rows import DictRow, dict_row
from psycopg_pool import AsyncConnectionPool

from reference_server.settings import is_postgres_url
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

EVENTS_CHANNEL = "rs_run_events"
"""``NOTIFY`` channel: a run's new events are committed (payload: the run id)."""
_POOL_SIZE = 20
# Any constant: the workers of one database take it in turn to create the schema, as
# ``CREATE TABLE IF NOT EXISTS`` run concurrently can still collide.
_SCHEMA_LOCK = (0x7273_0003, 0)
_SCHEMA_LOCK_RETRY_SECONDS = 0.05
_NEWEST_FIRST = "ORDER BY store.updated_at DESC"
_OLDEST_FIRST = "ORDER BY store.created_at ASC, store.key ASC"

_SCHEMA = [
    """CREATE TABLE IF NOT EXISTS rs_assistants (
        assistant_id TEXT PRIMARY KEY,
        owner TEXT,
        graph_id TEXT NOT NULL,
        data BYTEA NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS rs_assistant_versions (
        assistant_id TEXT NOT NULL,
        version INTEGER NOT NULL,
        data BYTEA NOT NULL,
        PRIMARY KEY (assistant_id, version)
    )""",
    """CREATE TABLE IF NOT EXISTS rs_threads (
        thread_id TEXT PRIMARY KEY,
        owner TEXT,
        status TEXT,
        data BYTEA NOT NULL
    )""",
    # ``sequence`` is the order runs were inserted in: runs of one thread execute in it.
    """CREATE TABLE IF NOT EXISTS rs_runs (
        run_id TEXT PRIMARY KEY,
        sequence BIGSERIAL,
        thread_id TEXT,
        owner TEXT,
        status TEXT,
        created_at TEXT,
        data BYTEA NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS rs_runs_by_thread ON rs_runs (thread_id, created_at)",
    "CREATE INDEX IF NOT EXISTS rs_runs_by_status ON rs_runs (status)",
    """CREATE TABLE IF NOT EXISTS rs_run_events (
        run_id TEXT NOT NULL,
        event_id TEXT NOT NULL,
        event TEXT NOT NULL,
        data BYTEA NOT NULL,
        PRIMARY KEY (run_id, event_id)
    )""",
    # Which worker process executes each unfinished run (see ``postgres_workers.py``).
    """CREATE TABLE IF NOT EXISTS rs_run_workers (
        run_id TEXT PRIMARY KEY,
        thread_id TEXT NOT NULL,
        worker INTEGER NOT NULL
    )""",
]


class PostgresStorage:
    def __init__(self, url: str, *, pool_size: int = _POOL_SIZE) -> None:
        if not is_postgres_url(url):
            raise ValueError(f"a Postgres URL starts with postgresql://, got {url!r}")
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

    async def _write(self, statements: Iterable[tuple[str, Sequence[Any]]]) -> None:
        """The statements in one transaction, shielded: a caller cancelled mid-write (a run
        being cancelled) still writes all or nothing."""
        await asyncio.shield(self._transaction(list(statements)))

    async def _transaction(self, statements: list[tuple[str, Sequence[Any]]]) -> None:
        async with self.pool.connection() as connection, connection.transaction():
            for sql, parameters in statements:
                await connection.execute(sql, parameters)

    async def _rows(self, sql: str, parameters: Sequence[Any] = ()) -> list[DictRow]:
        async with self.pool.connection() as connection:
            cursor = await connection.execute(sql, parameters)
            return await cursor.fetchall()

    async def _records(self, sql: str, parameters: Sequence[Any] = ()) -> list[Record]:
        return [orjson.loads(row["data"]) for row in await self._rows(sql, parameters)]

    # assistants -------------------------------------------------------------------------
    async def put_assistant(self, assistant: Record) -> None:
        assistant_id = str(assistant["assistant_id"])
        await self._write(
            [
                (
                    "INSERT INTO rs_assistants (assistant_id, owner, graph_id, data) "
                    "VALUES (%s, %s, %s, %s) ON CONFLICT (assistant_id) DO UPDATE SET "
                    "owner = excluded.owner, graph_id = excluded.graph_id, data = excluded.data",
                    (assistant_id, owner_of(assistant), assistant["graph_id"], dumps(assistant)),
                ),
                # The history is immutable: re-putting an old version (``/latest``) keeps it.
                (
                    "INSERT INTO rs_assistant_versions (assistant_id, version, data) "
                    "VALUES (%s, %s, %s) ON CONFLICT DO NOTHING",
                    (assistant_id, int(assistant["version"]), dumps(version_of(assistant))),
                ),
            ]
        )

    async def get_assistant(self, assistant_id: str, owner: str | None) -> Record | None:
        found = await self._records(
            "SELECT data FROM rs_assistants WHERE assistant_id = %s", (assistant_id,)
        )
        if not found or not visible_to(found[0], owner, unowned_visible=True):
            return None
        return found[0]

    async def delete_assistant(self, assistant_id: str, owner: str | None) -> bool:
        if await self.get_assistant(assistant_id, owner) is None:
            return False
        await self._write(
            [
                ("DELETE FROM rs_assistants WHERE assistant_id = %s", (assistant_id,)),
                ("DELETE FROM rs_assistant_versions WHERE assistant_id = %s", (assistant_id,)),
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
            conditions.append("graph_id = %s")
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
            "SELECT data FROM rs_assistant_versions WHERE assistant_id = %s ORDER BY version DESC",
            (assistant_id,),
        )
        matching = [entry for entry in versions if contains(entry.get("metadata"), metadata)]
        return page(matching, limit, offset)

    # threads ----------------------------------------------------------------------------
    async def put_thread(self, thread: Record) -> None:
        await self._write(
            [
                (
                    "INSERT INTO rs_threads (thread_id, owner, status, data) "
                    "VALUES (%s, %s, %s, %s) ON CONFLICT (thread_id) DO UPDATE SET "
                    "owner = excluded.owner, status = excluded.status, data = excluded.data",
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
        found = await self._records(
            "SELECT data FROM rs_threads WHERE thread_id = %s", (thread_id,)
        )
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
                    "(SELECT run_id FROM rs_runs WHERE thread_id = %s)",
                    (thread_id,),
                ),
                ("DELETE FROM rs_runs WHERE thread_id = %s", (thread_id,)),
                ("DELETE FROM rs_threads WHERE thread_id = %s", (thread_id,)),
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
            conditions.append("status = %s")
            parameters.append(status)
        if ids is not None:
            if not ids:
                return [], 0
            conditions.append("thread_id = ANY(%s)")
            parameters.append(list(ids))
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
        # A run without an owner of its own belongs to its thread's owner.
        await self._write(
            [
                (
                    "INSERT INTO rs_runs (run_id, thread_id, owner, status, created_at, data) "
                    "VALUES (%s, %s, COALESCE(%s, (SELECT owner FROM rs_threads "
                    "WHERE thread_id = %s)), %s, %s, %s) ON CONFLICT (run_id) DO UPDATE SET "
                    "thread_id = excluded.thread_id, owner = excluded.owner, "
                    "status = excluded.status, created_at = excluded.created_at, "
                    "data = excluded.data",
                    (
                        str(run["run_id"]),
                        str(thread_id) if thread_id is not None else None,
                        owner,
                        str(thread_id) if thread_id is not None else None,
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
            "SELECT data FROM rs_runs" + _where(["run_id = %s", *conditions]),
            [run_id, *parameters],
        )
        return found[0] if found else None

    async def delete_run(self, run_id: str, owner: str | None) -> bool:
        if await self.get_run(run_id, owner) is None:
            return False
        await self._write(
            [
                ("DELETE FROM rs_run_events WHERE run_id = %s", (run_id,)),
                ("DELETE FROM rs_runs WHERE run_id = %s", (run_id,)),
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
        conditions.append("thread_id = %s")
        parameters.append(thread_id)
        if status is not None:
            conditions.append("status = %s")
            parameters.append(status)
        return await self._records(
            "SELECT data FROM rs_runs"
            + _where(conditions)
            + " ORDER BY created_at DESC, run_id DESC LIMIT %s OFFSET %s",
            [*parameters, limit, offset],
        )

    async def list_runs_with_status(self, statuses: Sequence[str]) -> list[Record]:
        if not statuses:
            return []
        return await self._records(
            "SELECT data FROM rs_runs WHERE status = ANY(%s) ORDER BY created_at",
            (list(statuses),),
        )

    # run stream events ------------------------------------------------------------------
    async def append_events(self, run_id: str, events: Sequence[StoredEvent]) -> None:
        if not events:
            return

        async def _append() -> None:
            async with self.pool.connection() as connection, connection.transaction():
                async with connection.cursor() as cursor:
                    await cursor.executemany(
                        "INSERT INTO rs_run_events (run_id, event_id, event, data) "
                        "VALUES (%s, %s, %s, %s)",
                        [(run_id, event.id, event.event, event.data) for event in events],
                    )
                await connection.execute("SELECT pg_notify(%s, %s)", (EVENTS_CHANNEL, run_id))

        await asyncio.shield(_append())

    async def list_events(self, run_id: str, after_id: str | None = None) -> list[StoredEvent]:
        sql = "SELECT event_id, event, data FROM rs_run_events WHERE run_id = %s"
        parameters: list[Any] = [run_id]
        if after_id is not None:
            sql += " AND event_id > %s"
            parameters.append(after_id)
        rows = await self._rows(sql + " ORDER BY event_id", parameters)
        return [
            StoredEvent(id=row["event_id"], event=row["event"], data=bytes(row["data"]))
            for row in rows
        ]


class _ShieldedPostgresSaver(AsyncPostgresSaver):
    """Checkpoint writes that finish even when the run writing them is cancelled, so an
    interrupted run keeps the checkpoints it reached (as the SQLite backend does), and that
    run side by side: the saver takes one process-wide lock around every query, which only a
    single shared connection needs; from a pool each query has a connection of its own. With
    the lock, every run of the process waited its turn for each checkpoint read and write."""

    def __init__(self, pool: AsyncConnectionPool[AsyncConnection[DictRow]]) -> None:
        super().__init__(pool)
        self.lock = _NoLock()  # type: ignore[assignment]  # used only as `async with`

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


class _NoLock:
    async def __aenter__(self) -> None:
        return None

    async def __aexit__(self, *exc_info: object) -> None:
        return None


class _ShieldedPostgresStore(AsyncPostgresStore):
    """Store batches that finish even when their caller is cancelled (see above), and
    searches without a query in the order ``langgraph dev`` answers them: oldest item first
    (its in-memory store keeps insertion order), not most recently updated first."""

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


def _owner_condition(
    owner: str | None, *, unowned_visible: bool = False
) -> tuple[list[str], list[Any]]:
    if owner is None:
        return [], []
    if unowned_visible:
        return ["(owner = %s OR owner IS NULL)"], [owner]
    return ["owner = %s"], [owner]


def _where(conditions: list[str]) -> str:
    return " WHERE " + " AND ".join(conditions) if conditions else ""
