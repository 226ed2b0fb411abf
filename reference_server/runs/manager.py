"""Executes runs in the background and keeps their records, threads and event logs current.

A run is created ``pending``, waits for its thread (runs of one thread execute one after the
other: that is ``enqueue``) and for a free slot (``max_concurrent_runs`` server-wide), runs as
``running`` and ends ``success``, ``error`` or ``interrupted``. The run record and its thread are
written BEFORE the event log closes, so a client seeing its stream end already reads the final
status (the SDKs decide whether to reconnect from it).

Nothing is lost silently: a run whose events cannot be stored is stopped and ends ``error``
with an ``error`` event saying so. A restart settles the runs the previous process left
``pending``/``running`` (it crashed or was killed): each ends ``error``, its stored stream gets a
closing ``error`` event saying the run died, and its thread reads ``error`` too, as after an
ordinary failed run; such runs are not re-queued, as their graph may have done half its work.
With several workers, the live ones also settle a dead worker's runs, within
``ORPHAN_SWEEP_SECONDS`` of its death.
A graceful stop (SIGTERM) cancels the runs in progress: they end ``interrupted`` and their
streams end cleanly.

Multitask strategies on a busy thread: ``reject`` refuses (409); ``interrupt`` cancels the runs
in progress (they end ``interrupted``, their checkpoints kept); ``rollback`` cancels and deletes
them and puts the thread state back to where it was before them; ``enqueue`` waits.

With several worker processes on Postgres (``workers.py``), a run still executes in the worker
that created it; the strategies, the order of a thread's runs and cancellation hold across
workers through ``Workers``, and the other workers stream and join it from storage.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson
from langchain_core.runnables import RunnableConfig
from langchain_core.utils.uuid import uuid7
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.pregel import Pregel
from langgraph.types import Command

from reference_server.graphs import GraphRegistry
from reference_server.http import ApiError
from reference_server.resources import now_iso, resolve_assistant
from reference_server.runs.config import build_run_config, forwarded_headers, run_metadata
from reference_server.runs.errors import error_payload
from reference_server.runs.request import RunCreate
from reference_server.runs.workers import SingleProcess, Workers
from reference_server.settings import Settings
from reference_server.storage.base import OWNER_METADATA_KEY, Record, Storage, StoredEvent
from reference_server.streaming.broker import RunEventLog, format_event_id
from reference_server.streaming.graph_stream import GraphRunRequest, stream_graph_events
from reference_server.streaming.redaction import redact_metadata
from reference_server.streaming.serialise import dumps

_LOGGER = logging.getLogger(__name__)

CancelAction = Literal["interrupt", "rollback"]  # as ``workers.CancelAction``
ACTIVE_STATUSES = ("pending", "running")
THREAD_OR_ASSISTANT_NOT_FOUND = "Thread or assistant not found."
# Upstream's wording, placeholders included.
CANCEL_REASON_REQUEST = "interrupt requested via POST /threads/{thread_id}/runs/{run_id}/cancel"
CANCEL_REASON_DISCONNECT = "client disconnected from the run stream (on_disconnect=cancel)"
CANCEL_REASON_MULTITASK = "interrupted by a new run on the thread (multitask_strategy)"
CANCEL_REASON_SHUTDOWN = "the server shut down while the run was in progress"
RUN_DIED_ERROR = "RunDied"
RUN_DIED_MESSAGE = (
    "the run died: the server stopped (crashed or was killed) while the run was {status}; "
    "it was not resumed"
)
STORAGE_ERROR = "StorageError"
STORAGE_ERROR_MESSAGE = "the run's events could not be stored ({reason}), so the run was stopped"
SHUTDOWN_GRACE_SECONDS = 10.0
ORPHAN_SWEEP_SECONDS = 2.0
"""How often live workers look for runs of a dead worker (its death shows at once: its
Postgres connection drops)."""
"""How long a graceful stop waits for cancelled runs to record their end."""
CANCEL_REASON_ROLLBACK = "rollback requested via POST /threads/{thread_id}/runs/{run_id}/cancel"
CANCEL_REASON_THREAD_DELETED = "the run's thread was deleted"
RUN_NOT_FOUND_ERROR = {"error": "HTTPException", "message": "404: Run not found"}
BUSY_THREAD_DETAIL = (
    "Thread is already running a task. Wait for it to finish or choose a different "
    "multitask strategy."
)


@dataclass(eq=False)
class RunHandle:
    """A run this process knows live: its record, its event log and its task."""

    run: Record
    log: RunEventLog
    body: RunCreate
    assistant: Record
    config: RunnableConfig
    task: asyncio.Task[None] | None = None
    finished: asyncio.Event = field(default_factory=asyncio.Event)
    recorded: asyncio.Event = field(default_factory=asyncio.Event)
    """Set once the run record and the busy thread are written."""
    cancel_action: CancelAction | None = None
    cancel_reason: str | None = None
    final_values: Any = None
    error: dict[str, Any] | None = None
    storage_failure: Exception | None = None
    """Set when the run's events could not be stored; the run is stopped and ends ``error``."""
    temporary_thread: bool = False

    @property
    def run_id(self) -> str:
        return str(self.run["run_id"])

    @property
    def thread_id(self) -> str:
        return str(self.run["thread_id"])


@dataclass(frozen=True, slots=True)
class RunOrigin:
    """Where a run request came from: who sent it, with which headers, to which server."""

    owner: str | None
    headers: Mapping[str, str]
    api_url: str


class RunManager:
    def __init__(
        self,
        storage: Storage,
        graphs: GraphRegistry,
        settings: Settings,
        workers: Workers | None = None,
    ) -> None:
        self._storage = storage
        self._workers: Workers = workers if workers is not None else SingleProcess(storage)
        self._graphs = graphs
        self._settings = settings
        self._slots: asyncio.Semaphore | None = None
        self._handles: dict[str, RunHandle] = {}
        self._thread_locks: dict[str, asyncio.Lock] = {}
        self._thread_runs: dict[str, list[RunHandle]] = {}
        self._new_run_subscribers: dict[str, set[asyncio.Queue[RunHandle | str]]] = {}
        self._stopping = False
        self._sweeping: asyncio.Task[None] | None = None

    # lifecycle --------------------------------------------------------------------------
    async def start(self) -> None:
        self._slots = asyncio.Semaphore(self._settings.max_concurrent_runs)
        await self._workers.start(self._cancel_requested_elsewhere, self._created_elsewhere)
        await self._settle_interrupted_runs()
        if self._workers.shared:
            self._sweeping = asyncio.create_task(self._sweep_orphans(), name="orphan sweep")

    async def stop(self, grace_seconds: float = SHUTDOWN_GRACE_SECONDS) -> None:
        """Cancels every run in progress and waits (up to ``grace_seconds``) for each to
        record its end and close its stream. A run that does not make it in time is settled
        by the next start."""
        self._stopping = True
        if self._sweeping is not None:
            self._sweeping.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeping
        tasks = []
        for handle in list(self._handles.values()):
            if handle.task is None or handle.finished.is_set():
                continue
            handle.cancel_action = handle.cancel_action or "interrupt"
            handle.cancel_reason = handle.cancel_reason or CANCEL_REASON_SHUTDOWN
            handle.task.cancel()
            tasks.append(handle.task)
        if tasks:
            _, late = await asyncio.wait(tasks, timeout=grace_seconds)
            if late:
                _LOGGER.warning("%d runs did not stop within %.0f s", len(late), grace_seconds)
        await self._workers.stop()

    async def _sweep_orphans(self) -> None:
        while True:
            await asyncio.sleep(ORPHAN_SWEEP_SECONDS)
            try:
                await self._settle_interrupted_runs()
            except Exception:
                _LOGGER.exception("could not settle the runs of dead workers")

    async def _settle_interrupted_runs(self) -> None:
        async with self._workers.settling() as mine:
            if mine:
                await self._settle_orphans()

    async def _settle_orphans(self) -> None:
        """Runs a dead process left pending or running can never finish: each ends
        ``error``, its stored stream with an ``error`` event saying it died, its thread
        ``error`` (as after any failed run), so rejoining clients and the thread agree."""
        for run in await self._workers.orphaned_runs(ACTIVE_STATUSES):
            run_id = str(run["run_id"])
            error = {
                "error": RUN_DIED_ERROR,
                "message": RUN_DIED_MESSAGE.format(status=run.get("status")),
            }
            recorded = await self._storage.list_events(run_id)
            await self._storage.append_events(run_id, [_event_after(recorded, "error", error)])
            run["status"] = "error"
            run["updated_at"] = now_iso()
            await self._storage.put_run(run)
            thread = await self._storage.get_thread(str(run["thread_id"]), None)
            if thread is not None:
                timestamp = now_iso()
                thread.update({"status": "error", "error": error, "updated_at": timestamp})
                await self._storage.put_thread(thread)
            _LOGGER.warning("run %s died with the previous process: marked error", run_id)

    # queries ----------------------------------------------------------------------------
    def handle(self, run_id: str) -> RunHandle | None:
        return self._handles.get(run_id)

    def all_runs(self) -> list[RunHandle]:
        return list(self._handles.values())

    @property
    def storage(self) -> Storage:
        return self._storage

    @property
    def workers(self) -> Workers:
        return self._workers

    async def executing_elsewhere(self, run_id: str) -> bool:
        """Whether another worker process executes the run (never, with one process)."""
        if not self._workers.shared or run_id in self._handles:
            return False
        return await self._workers.executing_elsewhere(run_id)

    def active_runs(self, thread_id: str) -> list[RunHandle]:
        return list(self._thread_runs.get(thread_id, []))

    def subscribe_new_runs(self, thread_id: str) -> asyncio.Queue[RunHandle | str]:
        """A queue that receives every run created on ``thread_id`` from now on, until
        ``unsubscribe_new_runs``: the handle of a run of this process, the id of another
        worker's."""
        queue: asyncio.Queue[RunHandle | str] = asyncio.Queue()
        self._new_run_subscribers.setdefault(thread_id, set()).add(queue)
        return queue

    def _created_elsewhere(self, run_id: str, thread_id: str) -> None:
        for queue in self._new_run_subscribers.get(thread_id, ()):
            queue.put_nowait(run_id)

    def unsubscribe_new_runs(self, thread_id: str, queue: asyncio.Queue[RunHandle | str]) -> None:
        subscribers = self._new_run_subscribers.get(thread_id)
        if subscribers is not None:
            subscribers.discard(queue)
            if not subscribers:
                self._new_run_subscribers.pop(thread_id, None)

    # creating ---------------------------------------------------------------------------
    async def create_run(
        self, body: RunCreate, *, thread_id: str | None, origin: RunOrigin
    ) -> RunHandle:
        """Validates, records and schedules a run; returns once it is ``pending``."""
        if self._slots is None:
            raise RuntimeError("the run manager has not been started")
        assistant = await self._resolve_assistant(body.assistant_id, origin.owner)
        temporary = thread_id is None
        thread = await self._prepare_thread(thread_id, body, assistant, origin.owner)
        thread_id = str(thread["thread_id"])
        async with self._workers.thread_guard(thread_id):
            return await self._create_on_thread(body, thread, temporary, assistant, origin)

    async def _create_on_thread(
        self,
        body: RunCreate,
        thread: Record,
        temporary: bool,
        assistant: Record,
        origin: RunOrigin,
    ) -> RunHandle:
        thread_id = str(thread["thread_id"])
        await self._apply_multitask_strategy(thread_id, body)

        run_id = str(uuid7())
        metadata = run_metadata(assistant, body.metadata)
        if origin.owner is not None:
            metadata[OWNER_METADATA_KEY] = origin.owner
        checkpoint = body.checkpoint.model_dump(exclude_none=True) if body.checkpoint else {}
        if body.checkpoint_id:
            checkpoint["checkpoint_id"] = body.checkpoint_id
        config = build_run_config(
            run_id=run_id,
            thread_id=thread_id,
            assistant=assistant,
            thread=thread,
            request_config=body.config,
            metadata=metadata,
            headers=origin.headers,
            user_id=origin.owner,
            api_url=origin.api_url,
            checkpoint=checkpoint,
        )
        timestamp = now_iso()
        run: Record = {
            "run_id": run_id,
            "thread_id": thread_id,
            "assistant_id": str(assistant["assistant_id"]),
            "metadata": metadata,
            "status": "pending",
            "kwargs": _run_kwargs(
                body, config, metadata, hidden=frozenset(forwarded_headers(origin.headers))
            ),
            "multitask_strategy": body.multitask_strategy,
            "created_at": timestamp,
            "updated_at": timestamp,
            "langsmith_session_name": None,
        }

        def _persist_failed(error: Exception) -> None:
            self._stop_on_storage_failure(handle, error)

        handle = RunHandle(
            run=run,
            # Other workers stream a run from its stored events: with them, every run's are kept.
            log=RunEventLog(
                run_id,
                self._storage,
                persist=body.stream_resumable or self._workers.shared,
                on_persist_failure=_persist_failed,
            ),
            body=body,
            assistant=assistant,
            config=config,
            temporary_thread=temporary and body.on_completion == "delete",
        )
        # Registered and queued with no await since the multitask check: a concurrent request
        # sees this run (so ``reject`` holds), and runs of a thread start in creation order.
        self._handles[run_id] = handle
        self._thread_runs.setdefault(thread_id, []).append(handle)
        handle.task = asyncio.create_task(self._execute(handle), name=f"run {run_id}")
        try:
            await self._workers.adopt(run_id, thread_id)
            await self._storage.put_run(run)
            await self._mark_thread_busy(thread, assistant)
        except BaseException:
            handle.task.cancel()
            raise
        handle.recorded.set()
        for queue in self._new_run_subscribers.get(thread_id, ()):
            queue.put_nowait(handle)
        return handle

    async def _resolve_assistant(self, assistant_id: str, owner: str | None) -> Record:
        """The run's assistant, with upstream's wording for a bad or unknown one."""
        if assistant_id not in self._graphs and not _is_uuid(assistant_id):
            raise ApiError(
                422,
                f"Invalid assistant: '{assistant_id}'. Must be either:\n"
                "- A valid assistant UUID, or\n"
                f"- One of the registered graphs: {', '.join(_declared_graph_ids(self._graphs))}",
            )
        try:
            return await resolve_assistant(self._storage, self._graphs, assistant_id, owner)
        except ApiError as error:
            if error.status == 404:
                raise ApiError(404, THREAD_OR_ASSISTANT_NOT_FOUND) from None
            raise

    async def _prepare_thread(
        self, thread_id: str | None, body: RunCreate, assistant: Record, owner: str | None
    ) -> Record:
        if thread_id is not None:
            thread = await self._storage.get_thread(thread_id, owner)
            if thread is not None:
                return thread
            if body.if_not_exists != "create":
                raise ApiError(404, THREAD_OR_ASSISTANT_NOT_FOUND)
        thread = _new_thread_record(thread_id or str(uuid7()), owner)
        await self._storage.put_thread(thread)
        return thread

    async def _apply_multitask_strategy(self, thread_id: str, body: RunCreate) -> None:
        active = [h for h in self._thread_runs.get(thread_id, []) if not h.finished.is_set()]
        elsewhere = await self._workers.active_runs_elsewhere(thread_id, list(self._handles))
        if not active and not elsewhere:
            return
        strategy = body.multitask_strategy
        if strategy == "reject":
            raise ApiError(409, BUSY_THREAD_DETAIL)
        if strategy in ("interrupt", "rollback"):
            for handle in active:
                await self.cancel(
                    handle, action=strategy, wait=True, reason=CANCEL_REASON_MULTITASK
                )
            for run_id in elsewhere:
                await self.cancel_elsewhere(
                    run_id, action=strategy, wait=True, reason=CANCEL_REASON_MULTITASK
                )

    async def _mark_thread_busy(self, thread: Record, assistant: Record) -> None:
        metadata = dict(thread.get("metadata") or {})
        metadata.setdefault("graph_id", assistant["graph_id"])
        metadata.setdefault("assistant_id", str(assistant["assistant_id"]))
        thread["metadata"] = metadata
        config = dict(thread.get("config") or {})
        config["configurable"] = dict(config.get("configurable") or {})
        thread["config"] = config
        thread["status"] = "busy"
        thread["updated_at"] = now_iso()
        await self._storage.put_thread(thread)

    # cancelling -------------------------------------------------------------------------
    async def cancel(
        self,
        handle: RunHandle,
        *,
        action: CancelAction,
        wait: bool,
        reason: str = CANCEL_REASON_REQUEST,
    ) -> None:
        """Stops a run; ``rollback`` also deletes it and discards what it wrote. ``reason``
        becomes the thread's ``error`` (a ``UserInterrupt``), as upstream records it."""
        if handle.finished.is_set():
            return
        handle.cancel_action = action
        handle.cancel_reason = reason
        if handle.task is not None:
            handle.task.cancel()
        if wait:
            await handle.finished.wait()

    def _stop_on_storage_failure(self, handle: RunHandle, error: Exception) -> None:
        if handle.finished.is_set() or handle.storage_failure is not None:
            return
        handle.storage_failure = error
        if handle.task is not None and handle.cancel_action is None:
            handle.task.cancel()

    async def stop_runs_of_deleted_thread(self, thread_id: str) -> None:
        """Ends every run of a thread being deleted: its stream gets langgraph dev's
        ``404: Run not found`` error; returns once they are over."""
        for handle in self.active_runs(thread_id):
            await self.cancel(
                handle, action="interrupt", wait=True, reason=CANCEL_REASON_THREAD_DELETED
            )
        # With several workers the run may execute in another process: its stream must end
        # the same way, whichever worker took the DELETE.
        for run_id in await self._workers.active_runs_elsewhere(thread_id, list(self._handles)):
            await self.cancel_elsewhere(
                run_id, action="interrupt", wait=True, reason=CANCEL_REASON_THREAD_DELETED
            )

    async def cancel_elsewhere(
        self,
        run_id: str,
        *,
        action: CancelAction,
        wait: bool,
        reason: str = CANCEL_REASON_REQUEST,
    ) -> bool:
        """Asks the worker executing the run to cancel it; False if no other live worker
        executes it (it is over, or this process's own)."""
        if not await self.executing_elsewhere(run_id):
            return False
        await self._workers.request_cancel(run_id, action, reason)
        if wait:
            await self._workers.wait_until_released(run_id)
        return True

    def _cancel_requested_elsewhere(self, run_id: str, action: CancelAction, reason: str) -> None:
        handle = self._handles.get(run_id)
        if handle is None or handle.finished.is_set():
            return
        handle.cancel_action = action
        handle.cancel_reason = reason
        if handle.task is not None:
            handle.task.cancel()

    # executing --------------------------------------------------------------------------
    async def _execute(self, handle: RunHandle) -> None:
        status = "error"
        graph: Pregel | None = None
        checkpoint_before: str | None = None
        try:
            lock = self._thread_locks.setdefault(handle.thread_id, asyncio.Lock())
            async with lock:
                await handle.recorded.wait()
                if handle.body.after_seconds:
                    await asyncio.sleep(handle.body.after_seconds)
                assert self._slots is not None
                async with self._slots:
                    async with self._workers.turn(handle.thread_id, handle.run_id):
                        handle.log.publish(
                            "metadata", dumps({"run_id": handle.run_id, "attempt": 1})
                        )
                        await self._set_run_status(handle, "running")
                    graph = await self._graphs.get_graph(
                        handle.assistant["graph_id"], handle.config
                    )
                    checkpoint_before = await self._latest_checkpoint_id(graph, handle)
                    status = await self._stream(graph, handle)
        except asyncio.CancelledError:
            status = "interrupted"
            if handle.cancel_action is None and handle.storage_failure is not None:
                status = self._fail(handle, _storage_error(handle.storage_failure))
        except Exception as error:
            if handle.cancel_action is not None:
                # The cancellation surfaced as another exception from inside the graph.
                _LOGGER.info("run %s cancelled, raising %r", handle.run_id, error)
                status = "interrupted"
            else:
                _LOGGER.info("run %s failed: %r", handle.run_id, error)
                status = self._fail(handle, error_payload(error))
        finally:
            if handle.cancel_reason == CANCEL_REASON_THREAD_DELETED and handle.error is None:
                # What langgraph dev streams to a run whose thread is deleted under it.
                status = self._fail(handle, dict(RUN_NOT_FOUND_ERROR))
            await asyncio.shield(self._finish(handle, status, graph, checkpoint_before))

    def _fail(self, handle: RunHandle, error: dict[str, Any]) -> str:
        """Records ``error`` as the run's failure and tells its listeners; the run's status."""
        handle.error = error
        if not handle.log.closed:
            handle.log.publish("error", dumps(error))
        return "error"

    async def _stream(self, graph: Pregel, handle: RunHandle) -> str:
        body = handle.body
        extra: dict[str, Any] = {}
        context = {**(handle.assistant.get("context") or {}), **(body.context or {})}
        if context:
            extra["context"] = context
        if body.durability is not None:
            extra["durability"] = body.durability
        elif body.checkpoint_during is False:
            extra["durability"] = "exit"
        request = GraphRunRequest(
            input=_graph_input(body),
            config=handle.config,
            stream_modes=body.stream_modes,
            subgraphs=body.stream_subgraphs,
            interrupt_before=body.interrupt_before,
            interrupt_after=body.interrupt_after,
            extra=extra,
        )
        async for event, payload in stream_graph_events(graph, request):
            if event == "values":
                handle.final_values = payload
            handle.log.publish(event, dumps(payload))
        return "success"

    async def _latest_checkpoint_id(self, graph: Pregel, handle: RunHandle) -> str | None:
        checkpointer = graph.checkpointer
        if not isinstance(checkpointer, BaseCheckpointSaver):
            return None
        latest = await checkpointer.aget_tuple(
            {"configurable": {"thread_id": handle.thread_id, "checkpoint_ns": ""}}
        )
        return None if latest is None else latest.config["configurable"].get("checkpoint_id")

    async def _finish(
        self, handle: RunHandle, status: str, graph: Pregel | None, checkpoint_before: str | None
    ) -> None:
        """Record the outcome, update the thread, and only then close the stream. Events that
        could not be stored make the run ``error``: its log is flushed first to know."""
        try:
            await handle.log.flush()
            if handle.log.persist_failure is not None and status != "error":
                status = self._fail(handle, _storage_error(handle.log.persist_failure))
                await handle.log.flush()
            if handle.cancel_action == "rollback":
                await self._roll_back(handle, graph, checkpoint_before)
            else:
                await self._record_end(handle, status, graph)
                if handle.cancel_action == "rollback":
                    # Asked for while the end was being recorded (from another worker, that
                    # takes a while): the run is still rolled back, as its requester expects.
                    await self._roll_back(handle, graph, checkpoint_before)
        except Exception:
            _LOGGER.exception("could not record the end of run %s", handle.run_id)
        finally:
            if handle.cancel_reason == CANCEL_REASON_THREAD_DELETED and handle.error is None:
                # The thread was deleted while the end was being recorded: the stream ends as
                # langgraph dev ends it then.
                self._fail(handle, dict(RUN_NOT_FOUND_ERROR))
            await handle.log.close()
            try:
                await self._workers.release(handle.run_id, handle.thread_id)
            except Exception:
                _LOGGER.exception("could not tell the other workers run %s ended", handle.run_id)
            handle.finished.set()
            self._forget(handle)
            if handle.temporary_thread:
                # A stateless run's thread goes once the run is over (on_completion=delete).
                try:
                    await self._storage.delete_thread(handle.thread_id, None)
                except Exception:
                    _LOGGER.exception(
                        "could not delete the thread of stateless run %s", handle.run_id
                    )

    async def _record_end(self, handle: RunHandle, status: str, graph: Pregel | None) -> None:
        """The run's final status and its thread's, each attempted even if the other fails."""
        try:
            await self._set_run_status(handle, status)
        finally:
            await self._update_thread(handle, status, graph)

    async def _set_run_status(self, handle: RunHandle, status: str) -> None:
        kwargs_config = handle.run["kwargs"]["config"]
        if status != "pending":
            kwargs_config["metadata"] = _json_ready(
                redact_metadata(handle.config.get("metadata", {}))
            )
            # Upstream's record shows the key LangGraph leaves in the config it ran with.
            kwargs_config["configurable"].setdefault("__pregel_node_finished", None)
        handle.run["status"] = status
        handle.run["updated_at"] = now_iso()
        await self._storage.put_run(handle.run)

    async def _update_thread(self, handle: RunHandle, status: str, graph: Pregel | None) -> None:
        thread = await self._storage.get_thread(handle.thread_id, None)
        if thread is None:
            return
        values: Any = thread.get("values")
        interrupts: dict[str, Any] = {}
        stateless = False
        if graph is not None and graph.checkpointer is not None:
            state = await graph.aget_state(_thread_state_config(handle))
            # No checkpoint left (a rollback of the thread's first run): no values and no
            # interrupts key, as on a fresh thread and as upstream answers then.
            stateless = state.metadata is None
            values = None if stateless else _json_ready(state.values)
            interrupts = {
                task.id: [
                    {"id": interrupt.id, "value": _json_ready(interrupt.value)}
                    for interrupt in task.interrupts
                ]
                for task in state.tasks
                if task.interrupts
            }
        others_pending = any(
            other is not handle and not other.finished.is_set()
            for other in self._thread_runs.get(handle.thread_id, [])
        ) or bool(await self._workers.active_runs_elsewhere(handle.thread_id, [handle.run_id]))
        if others_pending:
            thread_status = "busy"
        elif status == "error":
            thread_status = "error"
        elif interrupts or status == "interrupted":
            thread_status = "interrupted"
        else:
            thread_status = "idle"
        timestamp = now_iso()
        thread.update(
            {
                "updated_at": timestamp,
                "state_updated_at": timestamp,
                "status": thread_status,
                "values": values,
                "error": _thread_error(handle, status),
                "interrupts": interrupts,
            }
        )
        if stateless:
            del thread["interrupts"]
        await self._storage.put_thread(thread)

    async def _roll_back(
        self, handle: RunHandle, graph: Pregel | None, checkpoint_before: str | None
    ) -> None:
        """Delete the run and put the thread's state back to before it."""
        await self._storage.delete_run(handle.run_id, None)
        if graph is not None and isinstance(graph.checkpointer, BaseCheckpointSaver):
            if checkpoint_before is None:
                await graph.checkpointer.adelete_thread(handle.thread_id)
            else:
                # A copy of the earlier checkpoint becomes the latest: the run's writes are
                # no longer part of the thread's state.
                await graph.aupdate_state(
                    {
                        "configurable": {
                            "thread_id": handle.thread_id,
                            "checkpoint_ns": "",
                            "checkpoint_id": checkpoint_before,
                        }
                    },
                    None,
                    as_node="__copy__",
                )
        await self._update_thread(handle, "rolled_back", graph)

    def _forget(self, handle: RunHandle) -> None:
        self._handles.pop(handle.run_id, None)
        runs = self._thread_runs.get(handle.thread_id)
        if runs is not None:
            with contextlib.suppress(ValueError):
                runs.remove(handle)
            if not runs:
                self._thread_runs.pop(handle.thread_id, None)
                lock = self._thread_locks.get(handle.thread_id)
                if lock is not None and not lock.locked():
                    self._thread_locks.pop(handle.thread_id, None)


def _declared_graph_ids(graphs: GraphRegistry) -> list[str]:
    """The graph ids in langgraph.json order, as upstream lists them (the registry sorts)."""
    try:
        declared = list(json.loads(graphs.config_path.read_text(encoding="utf-8"))["graphs"])
    except (OSError, ValueError, KeyError, TypeError):
        return graphs.graph_ids
    return [graph_id for graph_id in declared if graph_id in graphs]


def _storage_error(error: Exception) -> dict[str, Any]:
    return {
        "error": STORAGE_ERROR,
        "message": STORAGE_ERROR_MESSAGE.format(reason=f"{type(error).__name__}: {error}"),
    }


def _event_after(recorded: list[StoredEvent], event: str, payload: Any) -> StoredEvent:
    """An event to append after ``recorded``, with an id sorting after theirs."""
    last_ms, sequence = 0, 0
    if recorded:
        milliseconds, _, number = recorded[-1].id.partition("-")
        if milliseconds.isdigit() and number.isdigit():
            last_ms, sequence = int(milliseconds), int(number)
    epoch_ms = max(last_ms, int(time.time() * 1000))
    return StoredEvent(format_event_id(epoch_ms, sequence + 1), event, dumps(payload))


def _thread_error(handle: RunHandle, status: str) -> dict[str, Any] | None:
    if status == "error":
        return handle.error
    if status == "interrupted" and handle.cancel_reason is not None:
        return {"error": "UserInterrupt", "message": handle.cancel_reason}
    if status == "rolled_back" and handle.cancel_reason == CANCEL_REASON_ROLLBACK:
        return {"error": "UserRollback", "message": handle.cancel_reason}
    return None


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def _graph_input(body: RunCreate) -> Any:
    if body.command is not None:
        fields = body.command.model_dump(exclude_none=True)
        return Command(**fields)
    return body.input


def _thread_state_config(handle: RunHandle) -> RunnableConfig:
    return RunnableConfig(configurable={"thread_id": handle.thread_id, "checkpoint_ns": ""})


def _json_ready(value: Any) -> Any:
    return orjson.loads(dumps(value))


def _run_kwargs(
    body: RunCreate, config: RunnableConfig, run_metadata: Record, *, hidden: frozenset[str]
) -> Record:
    """The ``kwargs`` of a run record, as upstream stores them: the request's metadata until
    the run starts (then the full config metadata), the context mirroring the request's
    ``configurable`` when no context was given. The forwarded request headers (``hidden``)
    reach the graph but are not kept in the record, as upstream keeps none."""
    request_configurable = dict(((body.config or {}).get("configurable")) or {})
    context = body.context if body.context is not None else request_configurable
    # The run executes from its in-memory config; the record is what clients read back, so
    # credentials in it are masked like those in streamed payloads.
    return _json_ready(
        {
            "input": body.input,
            "command": body.command.model_dump(exclude_unset=True) if body.command else None,
            "config": {
                "configurable": redact_metadata(
                    {
                        key: value
                        for key, value in config.get("configurable", {}).items()
                        if key not in hidden
                    }
                ),
                "metadata": redact_metadata(run_metadata),
            },
            "context": redact_metadata(context) if isinstance(context, Mapping) else context,
            "stream_mode": body.stream_modes,
            "interrupt_before": body.interrupt_before,
            "interrupt_after": body.interrupt_after,
            "webhook": body.webhook,
            "feedback_keys": body.feedback_keys,
            "temporary": False,
            "subgraphs": body.stream_subgraphs,
            "resumable": body.stream_resumable,
            "checkpoint_during": body.checkpoint_during
            if body.checkpoint_during is not None
            else True,
            "durability": body.durability or "async",
        }
    )


def _new_thread_record(thread_id: str, owner: str | None) -> Record:
    timestamp = now_iso()
    metadata: dict[str, Any] = {}
    if owner is not None:
        metadata[OWNER_METADATA_KEY] = owner
    return {
        "thread_id": str(uuid.UUID(thread_id)),
        "created_at": timestamp,
        "updated_at": timestamp,
        "state_updated_at": timestamp,
        "metadata": metadata,
        "status": "idle",
        "config": {},
        "values": None,
    }
