"""Thread state read from and written to the checkpointer, through the thread's graph, and
shaped as ``langgraph dev`` answers ``/threads/{id}/state`` and ``/history``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from langchain_core.runnables import RunnableConfig
from langgraph.types import Interrupt, PregelTask, StateSnapshot

from reference_server.storage.base import Record
from reference_server.streaming.serialise import dumps

EMPTY_STATE: Record = {
    "values": {},
    "next": [],
    "tasks": [],
    "metadata": None,
    "created_at": None,
    "checkpoint": None,
    "parent_checkpoint": None,
    "interrupts": [],
    "checkpoint_id": None,
    "parent_checkpoint_id": None,
}


def json_ready(value: Any) -> Any:
    """``value`` as plain JSON types (messages become dicts), ready to store in a record."""
    return orjson.loads(dumps(value))


def snapshot_to_record(snapshot: StateSnapshot) -> Record:
    """A StateSnapshot as a JSON-ready dict, keys in upstream's order."""
    checkpoint = checkpoint_of(snapshot.config)
    parent_checkpoint = checkpoint_of(snapshot.parent_config)
    return {
        "values": snapshot.values,
        "next": list(snapshot.next),
        "tasks": [_task_to_record(task) for task in snapshot.tasks],
        "metadata": _metadata_with_thread_id(snapshot.metadata, checkpoint),
        "created_at": snapshot.created_at,
        "checkpoint": checkpoint,
        "parent_checkpoint": parent_checkpoint,
        "interrupts": [interrupt_to_record(item) for item in snapshot.interrupts],
        "checkpoint_id": checkpoint["checkpoint_id"] if checkpoint else None,
        "parent_checkpoint_id": parent_checkpoint["checkpoint_id"] if parent_checkpoint else None,
    }


def _metadata_with_thread_id(metadata: Any, checkpoint: Record | None) -> Any:
    # LangGraph never stores ``thread_id`` in checkpoint metadata; upstream shows it there,
    # just before the keys LangGraph itself writes (``source``, ``step``, ``parents``).
    if not isinstance(metadata, dict) or "thread_id" in metadata or checkpoint is None:
        return metadata
    thread_id = checkpoint.get("thread_id")
    if thread_id is None:
        return metadata
    with_thread: Record = {}
    for key, value in metadata.items():
        if key == "source":
            with_thread["thread_id"] = thread_id
        with_thread[key] = value
    with_thread.setdefault("thread_id", thread_id)
    return with_thread


def checkpoint_of(config: RunnableConfig | Mapping[str, Any] | None) -> Record | None:
    """``{"checkpoint_id", "thread_id", "checkpoint_ns"}`` of a config, or None."""
    if not config:
        return None
    configurable = config.get("configurable") or {}
    checkpoint_id = configurable.get("checkpoint_id")
    if checkpoint_id is None:
        return None
    return {
        "checkpoint_id": checkpoint_id,
        "thread_id": configurable.get("thread_id"),
        "checkpoint_ns": configurable.get("checkpoint_ns", ""),
    }


def interrupt_to_record(interrupt: Interrupt) -> Record:
    return {"id": interrupt.id, "value": interrupt.value}


def _task_to_record(task: PregelTask) -> Record:
    state: Record | None = None
    checkpoint: Record | None = None
    if isinstance(task.state, StateSnapshot):
        state = snapshot_to_record(task.state)
    elif task.state:
        checkpoint = dict(task.state.get("configurable") or {})
    return {
        "id": task.id,
        "name": task.name,
        "path": list(task.path),
        "error": _error_to_record(task.error),
        "interrupts": [interrupt_to_record(item) for item in task.interrupts],
        "checkpoint": checkpoint,
        "state": state,
        "result": task.result,
    }


def _error_to_record(error: Exception | None) -> Record | None:
    if error is None:
        return None
    return {"error": type(error).__name__, "message": str(error)}
