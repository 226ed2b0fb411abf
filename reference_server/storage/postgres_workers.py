"""Several worker processes on one Postgres database, each executing the runs it created.

- **Who executes what.** Each worker holds a session advisory lock on a random key of its own
  (``_WORKER_LOCKS``, key) for its lifetime, on its listening connection; ``rs_run_workers``
  names the worker of each unfinished run. A worker is alive while Postgres shows its lock
  granted, so a killed worker's runs are known orphaned the moment its connection drops. The
  live workers settle such runs (``settling``: one worker at a time) every few seconds.
- **Live fan-out.** ``LISTEN``/``NOTIFY``: appending events notifies ``EVENTS_CHANNEL`` in the
  same transaction (``postgres.py``); ending a run notifies ``_ENDED_CHANNEL``; a cancel request
  goes to every worker on ``_CANCEL_CHANNEL``; a new run is announced on ``_CREATED_CHANNEL``
  (thread streams on the other workers follow it). A follower reads the stored events after the
  last one it sent whenever it is notified. Notifications only wake readers: the rows are the
  truth, and a reader also looks again every ``_RECHECK_SECONDS`` in case one was missed.
- **Multitask.** Creating a run holds a transaction-scoped advisory lock on its thread
  (``_THREAD_LOCKS``); a run starts only when, under that lock, no other run of its thread is
  running and none inserted before it (``rs_runs.sequence``) is still pending. The locks are
  held on connections of a pool of their own: what is done under them needs connections of the
  storage's pool, which a crowd of lock holders must not use up.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import orjson
from psycopg import AsyncConnection
from psycopg.rows import DictRow, dict_row
from psycopg_pool import AsyncConnectionPool

from reference_server.runs.workers import CancelAction, CancelListener, RunCreatedListener
from reference_server.storage.base import Record, StoredEvent
from reference_server.storage.postgres import EVENTS_CHANNEL, PostgresStorage

_LOGGER = logging.getLogger(__name__)

_THREAD_LOCKS = 0x7273_0001
_WORKER_LOCKS = 0x7273_0002
_CANCEL_CHANNEL = "rs_run_cancel"
_ENDED_CHANNEL = "rs_run_ended"
_CREATED_CHANNEL = "rs_run_created"
_SETTLING_LOCK = 0x7273_0003
_RECHECK_SECONDS = 1.0
_GUARD_FIRST_WAIT_SECONDS = 0.002
_GUARD_LONGEST_WAIT_SECONDS = 0.05
_REPLAY_EVERYTHING = "-1"
_ACTIVE = ["pending", "running"]
_GUARD_POOL_SIZE = 10
# A worker row counts only while its worker is alive: its advisory lock is granted.
_LIVE_WORKER = (
    "EXISTS (SELECT 1 FROM pg_locks lock WHERE lock.locktype = 'advisory' "
    f"AND lock.classid = {_WORKER_LOCKS}::oid AND lock.objid = w.worker::oid "
    "AND lock.objsubid = 2 AND lock.granted)"
)


class PostgresWorkers:
    def __init__(self, storage: PostgresStorage) -> None:
        self._storage = storage
        self.worker = random.randrange(1, 2**31 - 1)
        self._listener: AsyncConnection[DictRow] | None = None
        self._listening: asyncio.Task[None] | None = None
        self._signals: dict[str, asyncio.Event] = {}
        self._on_cancel: CancelListener | None = None
        self._on_created: RunCreatedListener | None = None
        self._guards: AsyncConnectionPool[AsyncConnection[DictRow]] | None = None

    @property
    def shared(self) -> bool:
        return True

    # lifecycle --------------------------------------------------------------------------
    async def start(self, on_cancel: CancelListener, on_created: RunCreatedListener) -> None:
        self._on_cancel = on_cancel
        self._on_created = on_created
        guards: AsyncConnectionPool[AsyncConnection[DictRow]] = AsyncConnectionPool(
            self._storage.url,
            min_size=1,
            max_size=_GUARD_POOL_SIZE,
            open=False,
            kwargs={"autocommit": True, "row_factory": dict_row},
            connection_class=AsyncConnection[DictRow],
        )
        await guards.open(wait=True, timeout=30)
        self._guards = guards
        listener = await AsyncConnection.connect(
            self._storage.url, autocommit=True, row_factory=dict_row
        )
        while True:
            cursor = await listener.execute(
                "SELECT pg_try_advisory_lock(%s, %s) AS mine", (_WORKER_LOCKS, self.worker)
            )
            row = await cursor.fetchone()
            if row is not None and row["mine"]:
                break
            self.worker = random.randrange(1, 2**31 - 1)
        for channel in (EVENTS_CHANNEL, _ENDED_CHANNEL, _CANCEL_CHANNEL, _CREATED_CHANNEL):
            await listener.execute(f"LISTEN {channel}")
        self._listener = listener
        self._listening = asyncio.create_task(self._listen(listener), name="postgres listener")

    async def stop(self) -> None:
        if self._listening is not None:
            self._listening.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._listening
        if self._listener is not None:
            # Closing releases the worker lock: this worker's unfinished runs become orphans.
            await self._listener.close()
        if self._guards is not None:
            await self._guards.close()
        self._listener = self._listening = self._guards = None

    async def _listen(self, listener: AsyncConnection[DictRow]) -> None:
        try:
            async for notification in listener.notifies():
                self._dispatch(notification.channel, notification.payload)
        except asyncio.CancelledError:
            raise
        except Exception:
            # Readers still look again every _RECHECK_SECONDS; cancel requests are lost.
            _LOGGER.exception("the Postgres listener of worker %s stopped", self.worker)

    def _dispatch(self, channel: str, payload: str) -> None:
        if channel == EVENTS_CHANNEL:
            self._wake(f"events:{payload}")
        elif channel == _ENDED_CHANNEL:
            ended = orjson.loads(payload)
            self._wake(f"events:{ended['run_id']}")
            self._wake(f"ended:{ended['run_id']}")
            self._wake(f"thread:{ended['thread_id']}")
        elif channel == _CANCEL_CHANNEL and self._on_cancel is not None:
            request = orjson.loads(payload)
            self._on_cancel(request["run_id"], request["action"], request["reason"])
        elif channel == _CREATED_CHANNEL and self._on_created is not None:
            created = orjson.loads(payload)
            if created["worker"] != self.worker:
                self._on_created(created["run_id"], created["thread_id"])

    def _signal(self, key: str) -> asyncio.Event:
        return self._signals.setdefault(key, asyncio.Event())

    def _wake(self, key: str) -> None:
        signal = self._signals.pop(key, None)
        if signal is not None:
            signal.set()

    async def _wait(self, signal: asyncio.Event) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(_RECHECK_SECONDS):
                await signal.wait()

    # queries ----------------------------------------------------------------------------
    async def _fetch(self, sql: str, parameters: Sequence[Any] | dict[str, Any]) -> list[DictRow]:
        async with self._storage.pool.connection() as connection:
            cursor = await connection.execute(sql, parameters)
            return await cursor.fetchall()

    # guards -----------------------------------------------------------------------------
    def thread_guard(self, thread_id: str) -> AbstractAsyncContextManager[None]:
        return self._held_thread(thread_id)

    @asynccontextmanager
    async def _held_thread(self, thread_id: str) -> AsyncIterator[None]:
        async with self._locked_thread(thread_id):
            yield

    @asynccontextmanager
    async def _locked_thread(self, thread_id: str) -> AsyncIterator[AsyncConnection[DictRow]]:
        # A transaction-scoped lock, tried rather than waited for: a cancelled holder or waiter
        # rolls back (or its connection is discarded), which always releases it.
        if self._guards is None:
            raise RuntimeError("PostgresWorkers has not been started")
        async with self._guards.connection() as connection, connection.transaction():
            wait = _GUARD_FIRST_WAIT_SECONDS
            while True:
                cursor = await connection.execute(
                    "SELECT pg_try_advisory_xact_lock(%s, hashtext(%s)) AS mine",
                    (_THREAD_LOCKS, thread_id),
                )
                row = await cursor.fetchone()
                if row is not None and row["mine"]:
                    break
                await asyncio.sleep(wait)
                wait = min(wait * 2, _GUARD_LONGEST_WAIT_SECONDS)
            yield connection

    def turn(self, thread_id: str, run_id: str) -> AbstractAsyncContextManager[None]:
        return self._turn(thread_id, run_id)

    @asynccontextmanager
    async def _turn(self, thread_id: str, run_id: str) -> AsyncIterator[None]:
        while True:
            signal = self._signal(f"thread:{thread_id}")
            async with self._locked_thread(thread_id) as connection:
                cursor = await connection.execute(
                    "SELECT NOT EXISTS (SELECT 1 FROM rs_runs r JOIN rs_run_workers w "
                    "USING (run_id) WHERE r.thread_id = %(thread)s AND r.run_id <> %(run)s "
                    "AND (r.status = 'running' OR (r.status = 'pending' AND r.sequence < "
                    "(SELECT sequence FROM rs_runs WHERE run_id = %(run)s))) "
                    f"AND {_LIVE_WORKER}) AS free",
                    {"thread": thread_id, "run": run_id},
                )
                row = await cursor.fetchone()
                if row is not None and row["free"]:
                    yield
                    return
            await self._wait(signal)

    # runs -------------------------------------------------------------------------------
    async def adopt(self, run_id: str, thread_id: str) -> None:
        created = {"run_id": run_id, "thread_id": thread_id, "worker": self.worker}
        async with self._storage.pool.connection() as connection, connection.transaction():
            await connection.execute(
                "INSERT INTO rs_run_workers (run_id, thread_id, worker) VALUES (%s, %s, %s) "
                "ON CONFLICT (run_id) DO UPDATE SET worker = excluded.worker",
                (run_id, thread_id, self.worker),
            )
            await connection.execute(
                "SELECT pg_notify(%s, %s)", (_CREATED_CHANNEL, orjson.dumps(created).decode())
            )

    async def release(self, run_id: str, thread_id: str) -> None:
        async with self._storage.pool.connection() as connection, connection.transaction():
            await connection.execute("DELETE FROM rs_run_workers WHERE run_id = %s", (run_id,))
            await connection.execute(
                "SELECT pg_notify(%s, %s)",
                (_ENDED_CHANNEL, orjson.dumps({"run_id": run_id, "thread_id": thread_id}).decode()),
            )

    async def active_runs_elsewhere(self, thread_id: str, local: Sequence[str]) -> list[str]:
        rows = await self._fetch(
            "SELECT r.run_id FROM rs_runs r JOIN rs_run_workers w USING (run_id) "
            "WHERE r.thread_id = %s AND r.status = ANY(%s) AND w.worker <> %s "
            f"AND {_LIVE_WORKER} ORDER BY r.sequence",
            (thread_id, _ACTIVE, self.worker),
        )
        return [row["run_id"] for row in rows if row["run_id"] not in local]

    async def executing_elsewhere(self, run_id: str) -> bool:
        rows = await self._fetch(
            "SELECT 1 FROM rs_run_workers w WHERE w.run_id = %s AND w.worker <> %s "
            f"AND {_LIVE_WORKER}",
            (run_id, self.worker),
        )
        return bool(rows)

    async def orphaned_runs(self, statuses: Sequence[str]) -> list[Record]:
        rows = await self._fetch(
            "SELECT r.data FROM rs_runs r WHERE r.status = ANY(%s) AND NOT EXISTS "
            f"(SELECT 1 FROM rs_run_workers w WHERE w.run_id = r.run_id AND {_LIVE_WORKER}) "
            "ORDER BY r.sequence",
            (list(statuses),),
        )
        return [orjson.loads(row["data"]) for row in rows]

    def settling(self) -> AbstractAsyncContextManager[bool]:
        return self._settling()

    @asynccontextmanager
    async def _settling(self) -> AsyncIterator[bool]:
        # Tried, not waited for: the worker holding it settles every orphan there is.
        if self._guards is None:
            raise RuntimeError("PostgresWorkers has not been started")
        async with self._guards.connection() as connection, connection.transaction():
            cursor = await connection.execute(
                "SELECT pg_try_advisory_xact_lock(%s, 0) AS mine", (_SETTLING_LOCK,)
            )
            row = await cursor.fetchone()
            yield bool(row is not None and row["mine"])

    async def request_cancel(self, run_id: str, action: CancelAction, reason: str) -> None:
        payload = orjson.dumps({"run_id": run_id, "action": action, "reason": reason})
        async with self._storage.pool.connection() as connection:
            await connection.execute(
                "SELECT pg_notify(%s, %s)", (_CANCEL_CHANNEL, payload.decode())
            )

    async def wait_until_released(self, run_id: str) -> None:
        while True:
            signal = self._signal(f"ended:{run_id}")
            if not await self._executed(run_id):
                return
            await self._wait(signal)

    async def _executed(self, run_id: str) -> bool:
        """Whether the run is not over yet: a live worker (this one included) executes it, or
        its worker died and no live worker has settled it yet (that records its end)."""
        rows = await self._fetch(
            "SELECT EXISTS (SELECT 1 FROM rs_run_workers w WHERE w.run_id = %(run)s "
            f"AND {_LIVE_WORKER}) OR EXISTS (SELECT 1 FROM rs_runs WHERE run_id = %(run)s "
            "AND status = ANY(%(active)s)) AS going",
            {"run": run_id, "active": _ACTIVE},
        )
        return bool(rows and rows[0]["going"])

    async def follow_events(self, run_id: str, after_id: str | None) -> AsyncIterator[StoredEvent]:
        storage = self._storage
        if after_id == _REPLAY_EVERYTHING:
            last: str | None = None
        elif after_id is None:
            existing = await storage.list_events(run_id)
            last = existing[-1].id if existing else None
        else:
            last = after_id
        while True:
            signal = self._signal(f"events:{run_id}")
            # Asked before reading: once the run is released every event is stored, so the
            # read that follows is the last one needed.
            over = not await self._executed(run_id)
            for event in await storage.list_events(run_id, last):
                yield event
                last = event.id
            if over:
                return
            await self._wait(signal)
