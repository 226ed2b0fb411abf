"""Helpers about assistants and threads that both D1's and D2's routes need.

A system assistant exists per graph (id ``uuid5(NAMESPACE, graph_id)``, metadata
``{"created_by": "system"}``), and wherever an ``assistant_id`` is accepted a graph id may stand
in for it. Thread state comes from the checkpointer through the thread's graph.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from langchain_core.runnables import RunnableConfig

from reference_server.graphs import GraphRegistry
from reference_server.http import ApiError
from reference_server.storage.base import OWNER_METADATA_KEY, Record, Storage

SYSTEM_ASSISTANT_NAMESPACE = uuid.UUID("6ba7b821-9dad-11d1-80b4-00c04fd430c8")
SYSTEM_CREATOR = "system"


def now_iso() -> str:
    """A timestamp as upstream writes them: ``2026-11-24T08:53:26.695192+00:00``."""
    return datetime.now(UTC).isoformat()


def system_assistant_id(graph_id: str) -> str:
    return str(uuid.uuid5(SYSTEM_ASSISTANT_NAMESPACE, graph_id))


def new_assistant_record(
    *,
    assistant_id: str,
    graph_id: str,
    config: Record | None = None,
    context: Record | None = None,
    metadata: Record | None = None,
    name: str | None = None,
    description: str | None = None,
) -> Record:
    timestamp = now_iso()
    config = dict(config or {})
    return {
        "assistant_id": assistant_id,
        "graph_id": graph_id,
        "config": config,
        "context": dict(context) if context is not None else _context_from_config(config),
        "metadata": dict(metadata or {}),
        "name": name if name is not None else "Untitled",
        "created_at": timestamp,
        "updated_at": timestamp,
        "version": 1,
        "description": description,
    }


def _context_from_config(config: Record) -> Record:
    # Upstream mirrors the configurable into the context when no context is given.
    configurable = config.get("configurable")
    return dict(configurable) if isinstance(configurable, dict) else {}


async def ensure_system_assistants(storage: Storage, graphs: GraphRegistry) -> None:
    """Creates the system assistant of every graph that has none yet (kept across restarts)."""
    for graph_id in graphs.graph_ids:
        assistant_id = system_assistant_id(graph_id)
        if await storage.get_assistant(assistant_id, None) is not None:
            continue
        await storage.put_assistant(
            new_assistant_record(
                assistant_id=assistant_id,
                graph_id=graph_id,
                metadata={"created_by": SYSTEM_CREATOR},
                name=graph_id,
                description=graphs.description(graph_id),
            )
        )


async def resolve_assistant(
    storage: Storage, graphs: GraphRegistry, assistant_id: str, owner: str | None
) -> Record:
    """The assistant an ``assistant_id`` names, where a graph id means its system assistant.
    404 when no such assistant is visible to ``owner``; 422 when it is neither a UUID nor a
    graph id."""
    if assistant_id in graphs:
        assistant_id = system_assistant_id(assistant_id)
    else:
        try:
            assistant_id = str(uuid.UUID(assistant_id))
        except ValueError:
            raise ApiError(
                422,
                f"Invalid assistant ID: '{assistant_id}' is neither a UUID nor a graph id "
                f"(graphs: {graphs.graph_ids})",
            ) from None
    assistant = await storage.get_assistant(assistant_id, owner)
    if assistant is None:
        raise ApiError(404, f"Assistant with ID {assistant_id} not found")
    return assistant


def thread_graph_id(thread: Record) -> str:
    """The graph of a thread's last run, or 400 as upstream answers for a thread never run."""
    metadata = thread.get("metadata") or {}
    graph_id = metadata.get("graph_id") if isinstance(metadata, dict) else None
    if not isinstance(graph_id, str) or not graph_id:
        raise ApiError(
            400,
            f"Thread '{thread['thread_id']}' has no assigned graph ID. This usually occurs when "
            "no runs have been made on this particular thread. This operation requires a graph "
            "ID. Please ensure a run has been made for the thread or manually update the thread "
            "metadata (by setting the 'graph_id' field) before running this operation.",
        )
    return graph_id


def thread_config(thread: Record, checkpoint: Record | None = None) -> RunnableConfig:
    """The RunnableConfig addressing a thread's checkpoints (optionally one checkpoint)."""
    configurable: dict[str, Any] = {"thread_id": str(thread["thread_id"]), "checkpoint_ns": ""}
    thread_configurable = (thread.get("config") or {}).get("configurable")
    if isinstance(thread_configurable, dict):
        configurable = {**thread_configurable, **configurable}
    if checkpoint:
        configurable.update({key: value for key, value in checkpoint.items() if value is not None})
    return RunnableConfig(configurable=configurable)


def owned_metadata(metadata: Record | None, owner: str | None) -> Record:
    """``metadata`` with ``owner`` recorded in it (when auth is on), as records keep it."""
    result = dict(metadata or {})
    if owner is not None:
        result[OWNER_METADATA_KEY] = owner
    return result
