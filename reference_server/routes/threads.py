"""``/threads`` except runs and ``GET /threads/{id}/stream`` (those are in routes/runs.py):
create, read, patch, delete, search, count, copy, state (read, update, at a checkpoint) and
history.

A thread's status, values, interrupts and error are written by the run manager; its state and
history are read from the checkpointer through the graph of its last run
(``metadata.graph_id``).
"""

from __future__ import annotations

import uuid
from typing import Any, Literal

from langchain_core.runnables import RunnableConfig
from langchain_core.utils.uuid import uuid7
from langgraph.errors import InvalidUpdateError
from langgraph.pregel import Pregel
from langgraph.types import StateUpdate as GraphStateUpdate
from pydantic import Field
from quart import Blueprint, Response

from reference_server import context
from reference_server.http import (
    MAX_INT64,
    ApiError,
    RequestModel,
    json_response,
    no_content,
    parse_body,
    parse_query,
    parse_uuid,
    search_page_response,
)
from reference_server.resources import now_iso, owned_metadata, thread_config, thread_graph_id
from reference_server.state import (
    EMPTY_STATE,
    checkpoint_of,
    interrupt_to_record,
    json_ready,
    snapshot_to_record,
)
from reference_server.storage.base import OWNER_METADATA_KEY, Record

blueprint = Blueprint("threads", __name__)

ThreadStatus = Literal["idle", "busy", "interrupted", "error"]
ThreadSortField = Literal["thread_id", "status", "created_at", "updated_at", "state_updated_at"]


class SuperstepUpdate(RequestModel):
    values: dict[str, Any] | None = None
    as_node: str
    task_id: str | None = None


class Superstep(RequestModel):
    updates: list[SuperstepUpdate]


class ThreadCreate(RequestModel):
    thread_id: uuid.UUID | None = None
    metadata: dict[str, Any] | None = None
    if_exists: Literal["raise", "do_nothing"] = "raise"
    supersteps: list[Superstep] | None = None


class ThreadPatch(RequestModel):
    metadata: dict[str, Any] | None = None


class ThreadSearch(RequestModel):
    metadata: dict[str, Any] | None = None
    values: dict[str, Any] | None = None
    status: ThreadStatus | None = None
    ids: list[uuid.UUID] | None = None
    limit: int = Field(default=10, ge=1, le=1000)
    offset: int = Field(default=0, ge=0, le=MAX_INT64)
    sort_by: ThreadSortField = "created_at"
    sort_order: Literal["asc", "desc"] = "desc"
    select: list[str] | None = None


class ThreadCount(RequestModel):
    metadata: dict[str, Any] | None = None
    values: dict[str, Any] | None = None
    status: ThreadStatus | None = None


class CheckpointSelector(RequestModel):
    checkpoint_id: str | None = None
    checkpoint_ns: str | None = None
    checkpoint_map: dict[str, Any] | None = None


class StateQuery(RequestModel):
    subgraphs: bool = False


class StateAtCheckpoint(RequestModel):
    checkpoint: CheckpointSelector
    subgraphs: bool = False


class StateUpdate(RequestModel):
    values: dict[str, Any] | list[Any] | None = None
    as_node: str | None = None
    checkpoint_id: str | None = None
    checkpoint: CheckpointSelector | None = None


class HistoryQuery(RequestModel):
    limit: int = Field(default=10, ge=1, le=1000)
    before: str | None = None


class HistorySearch(RequestModel):
    limit: int = Field(default=10, ge=1, le=1000)
    before: dict[str, Any] | None = None
    metadata: dict[str, Any] | None = None
    checkpoint: CheckpointSelector | None = None


@blueprint.post("/threads")
async def create_thread() -> Response:
    body = await parse_body(ThreadCreate)
    storage = context.storage()
    owner = context.current_owner()
    thread_id = str(body.thread_id or uuid7())
    if await storage.get_thread(thread_id, None) is not None:
        visible = await storage.get_thread(thread_id, owner)
        if body.if_exists == "do_nothing" and visible is not None:
            return json_response(visible)
        raise ApiError(409, f"Thread with ID {thread_id} already exists")
    timestamp = now_iso()
    thread: Record = {
        "thread_id": thread_id,
        "created_at": timestamp,
        "updated_at": timestamp,
        "state_updated_at": timestamp,
        "metadata": owned_metadata(body.metadata, owner),
        "status": "idle",
        "config": {},
        "values": None,
    }
    await storage.put_thread(thread)
    if body.supersteps:
        thread = await _apply_supersteps(thread, body.supersteps)
    return json_response(thread)


async def _apply_supersteps(thread: Record, supersteps: list[Superstep]) -> Record:
    """Writes the initial state a create request carries, one superstep after another."""
    try:
        graph = await _thread_graph(thread)
        await graph.abulk_update_state(
            _with_thread_metadata(thread_config(thread), thread),
            [
                [
                    GraphStateUpdate(update.values, update.as_node, update.task_id)
                    for update in step.updates
                ]
                for step in supersteps
            ],
        )
    except (ApiError, InvalidUpdateError, ValueError, TypeError, KeyError) as error:
        detail = error.detail if isinstance(error, ApiError) else str(error)
        raise ApiError(
            400,
            f"Thread {thread['thread_id']} was created, but there were problems updating the "
            f"state: {detail}",
        ) from None
    return await _record_state(thread, graph)


async def _record_state(thread: Record, graph: Pregel) -> Record:
    """Stores what a state update changed in the thread record: values, interrupts, and the
    status they imply (unless a run is going)."""
    snapshot = await graph.aget_state(thread_config(thread))
    timestamp = now_iso()
    interrupts = json_ready(
        {
            task.id: [interrupt_to_record(item) for item in task.interrupts]
            for task in snapshot.tasks
            if task.interrupts
        }
    )
    status = thread.get("status")
    if status != "busy":
        status = "interrupted" if snapshot.next else "idle"
    updated = {
        **thread,
        "updated_at": timestamp,
        "state_updated_at": timestamp,
        "status": status,
        "values": json_ready(snapshot.values),
        "error": None,
        "interrupts": interrupts,
    }
    await context.storage().put_thread(updated)
    return updated


@blueprint.post("/threads/search")
async def search_threads() -> Response:
    body = await parse_body(ThreadSearch)
    found, total = await context.storage().search_threads(
        context.current_owner(),
        metadata=body.metadata,
        values=body.values,
        status=body.status,
        ids=[str(item) for item in body.ids] if body.ids is not None else None,
        limit=body.limit,
        offset=body.offset,
        sort_by=body.sort_by,
        sort_order=body.sort_order,
    )
    return search_page_response(found, total, offset=body.offset, select=body.select)


@blueprint.post("/threads/count")
async def count_threads() -> Response:
    body = await parse_body(ThreadCount)
    _, total = await context.storage().search_threads(
        context.current_owner(),
        metadata=body.metadata,
        values=body.values,
        status=body.status,
        limit=0,
    )
    return json_response(total)


@blueprint.get("/threads/<thread_id>")
async def get_thread(thread_id: str) -> Response:
    return json_response(await visible_thread(thread_id))


@blueprint.patch("/threads/<thread_id>")
async def patch_thread(thread_id: str) -> Response:
    body = await parse_body(ThreadPatch)
    thread = await visible_thread(thread_id)
    metadata = {**(thread.get("metadata") or {}), **(body.metadata or {})}
    owner = context.current_owner()
    updated = {
        **thread,
        "metadata": owned_metadata(metadata, owner) if owner else metadata,
        "updated_at": now_iso(),
    }
    await context.storage().put_thread(updated)
    return json_response(updated)


@blueprint.delete("/threads/<thread_id>")
async def delete_thread(thread_id: str) -> Response:
    thread = await visible_thread(thread_id)
    # Runs still going would write into the deleted thread: stop them first (their streams
    # end with the error langgraph dev sends there).
    await context.run_manager().stop_runs_of_deleted_thread(thread["thread_id"])
    if not await context.storage().delete_thread(thread["thread_id"], context.current_owner()):
        raise ApiError(404, f"Thread with ID {thread['thread_id']} not found")
    return no_content()


@blueprint.post("/threads/<thread_id>/copy")
async def copy_thread(thread_id: str) -> Response:
    source = await visible_thread(thread_id)
    storage = context.storage()
    copy_id = str(uuid7())
    timestamp = now_iso()
    copied: Record = {
        **source,
        "thread_id": copy_id,
        "created_at": timestamp,
        "updated_at": timestamp,
        "state_updated_at": timestamp,
        "status": "idle",
    }
    await _copy_checkpoints(source["thread_id"], copy_id)
    await storage.put_thread(copied)
    # langgraph dev answers a copy without its values (they are the source's, in the copied
    # checkpoints); GET /threads/{id} has them.
    return json_response({key: value for key, value in copied.items() if key != "values"})


@blueprint.get("/threads/<thread_id>/state")
async def get_state(thread_id: str) -> Response:
    query = parse_query(StateQuery)
    return json_response(await _state(await visible_thread(thread_id), None, query.subgraphs))


@blueprint.get("/threads/<thread_id>/state/<checkpoint_id>")
async def get_state_at_checkpoint(thread_id: str, checkpoint_id: str) -> Response:
    query = parse_query(StateQuery)
    thread = await visible_thread(thread_id)
    return json_response(await _state(thread, {"checkpoint_id": checkpoint_id}, query.subgraphs))


@blueprint.post("/threads/<thread_id>/state/checkpoint")
async def post_state_at_checkpoint(thread_id: str) -> Response:
    body = await parse_body(StateAtCheckpoint, allow_empty=False)
    thread = await visible_thread(thread_id)
    selector = body.checkpoint.model_dump(exclude_none=True)
    return json_response(await _state(thread, selector, body.subgraphs))


@blueprint.post("/threads/<thread_id>/state")
async def update_state(thread_id: str) -> Response:
    body = await parse_body(StateUpdate)
    thread = await visible_thread(thread_id)
    graph = await _thread_graph(thread)
    selector = body.checkpoint.model_dump(exclude_none=True) if body.checkpoint else {}
    if body.checkpoint_id:
        selector["checkpoint_id"] = body.checkpoint_id
    try:
        next_config = await graph.aupdate_state(
            _with_thread_metadata(thread_config(thread, selector), thread),
            body.values,
            as_node=body.as_node,
        )
    except InvalidUpdateError as error:
        raise ApiError(400, str(error)) from None
    except (ValueError, TypeError, KeyError) as error:
        # The values do not fit the graph's state (a reducer refused them): the client's fault.
        raise ApiError(400, f"Invalid state update: {type(error).__name__}: {error}") from None
    await _record_state(thread, graph)
    checkpoint = checkpoint_of(next_config) or {}
    ordered = {
        "thread_id": checkpoint.get("thread_id"),
        "checkpoint_ns": checkpoint.get("checkpoint_ns", ""),
        "checkpoint_id": checkpoint.get("checkpoint_id"),
    }
    return json_response(
        {"checkpoint": ordered, "configurable": ordered, "checkpoint_id": ordered["checkpoint_id"]}
    )


@blueprint.get("/threads/<thread_id>/history")
async def get_history(thread_id: str) -> Response:
    query = parse_query(HistoryQuery)
    thread = await visible_thread(thread_id)
    before = {"configurable": {"checkpoint_id": query.before}} if query.before else None
    return json_response(await _history(thread, query.limit, before, None, None))


@blueprint.post("/threads/<thread_id>/history")
async def post_history(thread_id: str) -> Response:
    body = await parse_body(HistorySearch)
    thread = await visible_thread(thread_id)
    selector = body.checkpoint.model_dump(exclude_none=True) if body.checkpoint else None
    return json_response(await _history(thread, body.limit, body.before, body.metadata, selector))


def _with_thread_metadata(config: RunnableConfig, thread: Record) -> RunnableConfig:
    """The config a state update writes with: the thread's metadata goes into the checkpoint's,
    as upstream records it (``graph_id`` next to ``source: update``)."""
    metadata = {
        key: value
        for key, value in (thread.get("metadata") or {}).items()
        if key != OWNER_METADATA_KEY
    }
    return RunnableConfig(**{**config, "metadata": metadata})  # type: ignore[typeddict-item]


async def visible_thread(thread_id: str) -> Record:
    """The thread, or 422 for a malformed id and 404 when it is not the caller's."""
    thread_id = parse_uuid(thread_id, "thread")
    thread = await context.storage().get_thread(thread_id, context.current_owner())
    if thread is None:
        raise ApiError(404, f"Thread with ID {thread_id} not found")
    return thread


async def _thread_graph(thread: Record) -> Pregel:
    graph_id = thread_graph_id(thread)
    configurable = dict((thread.get("config") or {}).get("configurable") or {})
    configurable.setdefault("thread_id", thread["thread_id"])
    return await context.graphs().get_graph(graph_id, RunnableConfig(configurable=configurable))


def _has_graph(thread: Record) -> bool:
    metadata = thread.get("metadata") or {}
    return isinstance(metadata, dict) and isinstance(metadata.get("graph_id"), str)


async def _state(thread: Record, selector: Record | None, subgraphs: bool) -> Record:
    if not _has_graph(thread):
        return dict(EMPTY_STATE)
    graph = await _thread_graph(thread)
    snapshot = await graph.aget_state(thread_config(thread, selector), subgraphs=subgraphs)
    return snapshot_to_record(snapshot)


async def _history(
    thread: Record,
    limit: int,
    before: Record | None,
    metadata: Record | None,
    selector: Record | None,
) -> list[Record]:
    if not _has_graph(thread):
        return []
    graph = await _thread_graph(thread)
    before_config = _before_config(before)
    return [
        snapshot_to_record(snapshot)
        async for snapshot in graph.aget_state_history(
            thread_config(thread, selector), filter=metadata, before=before_config, limit=limit
        )
    ]


def _before_config(before: Record | None) -> RunnableConfig | None:
    if not before:
        return None
    # Accepted as a RunnableConfig ({"configurable": {...}}) or as a bare checkpoint selector.
    configurable = before.get("configurable", before)
    if not isinstance(configurable, dict) or not configurable.get("checkpoint_id"):
        raise ApiError(422, '"before": must name a checkpoint_id')
    return RunnableConfig(configurable=configurable)


async def _copy_checkpoints(source_thread_id: str, target_thread_id: str) -> None:
    """Replays every checkpoint (and pending write) of one thread into another, oldest first,
    so the copy has the same history."""
    checkpointer = context.storage().checkpointer
    tuples = [
        item async for item in checkpointer.alist({"configurable": {"thread_id": source_thread_id}})
    ]
    for item in reversed(tuples):
        configurable = item.config["configurable"]
        parent = (item.parent_config or {}).get("configurable", {})
        target_config: RunnableConfig = RunnableConfig(
            configurable={
                "thread_id": target_thread_id,
                "checkpoint_ns": configurable.get("checkpoint_ns", ""),
                **(
                    {"checkpoint_id": parent["checkpoint_id"]}
                    if parent.get("checkpoint_id")
                    else {}
                ),
            }
        )
        metadata: Any = {**item.metadata}
        if "thread_id" in metadata:
            metadata["thread_id"] = target_thread_id  # type: ignore[typeddict-unknown-key]
        stored = await checkpointer.aput(
            target_config, item.checkpoint, metadata, dict(item.checkpoint["channel_versions"])
        )
        for task_id, channel, value in item.pending_writes or []:
            await checkpointer.aput_writes(stored, [(channel, value)], task_id)
