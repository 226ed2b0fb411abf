"""``/assistants``: create, read, patch (a new version), delete, search, count, versions,
latest, and what the graph behind an assistant looks like (schemas, drawing, subgraphs)."""

from __future__ import annotations

import uuid
from typing import Any, Literal

from langchain_core.runnables import RunnableConfig
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
from reference_server.resources import (
    new_assistant_record,
    now_iso,
    owned_metadata,
    system_assistant_id,
)
from reference_server.storage.base import Record
from reference_server.storage.records import ASSISTANT_SORT_FIELDS

blueprint = Blueprint("assistants", __name__)

AssistantSortField = Literal["assistant_id", "graph_id", "name", "created_at", "updated_at"]
SortOrder = Literal["asc", "desc"]
assert set(AssistantSortField.__args__) == set(ASSISTANT_SORT_FIELDS)  # type: ignore[attr-defined]


class AssistantCreate(RequestModel):
    graph_id: str
    assistant_id: uuid.UUID | None = None
    config: dict[str, Any] | None = None
    context: dict[str, Any] | None = None
    metadata: dict[str, Any] | None = None
    if_exists: Literal["raise", "do_nothing"] = "raise"
    name: str | None = None
    description: str | None = None


class AssistantPatch(RequestModel):
    graph_id: str | None = None
    config: dict[str, Any] | None = None
    context: dict[str, Any] | None = None
    metadata: dict[str, Any] | None = None
    name: str | None = None
    description: str | None = None


class AssistantSearch(RequestModel):
    metadata: dict[str, Any] | None = None
    graph_id: str | None = None
    name: str | None = None
    limit: int = Field(default=10, ge=1, le=1000)
    offset: int = Field(default=0, ge=0, le=MAX_INT64)
    sort_by: AssistantSortField = "created_at"
    sort_order: SortOrder = "desc"
    select: list[str] | None = None


class AssistantCount(RequestModel):
    metadata: dict[str, Any] | None = None
    graph_id: str | None = None
    name: str | None = None


class VersionSearch(RequestModel):
    metadata: dict[str, Any] | None = None
    limit: int = Field(default=10, ge=1, le=1000)
    offset: int = Field(default=0, ge=0, le=MAX_INT64)


class SetLatest(RequestModel):
    version: int = Field(ge=1, le=MAX_INT64)


class GraphQuery(RequestModel):
    xray: str = "false"

    def xray_depth(self) -> bool | int:
        """``true``/``false``, or how many levels of subgraphs to expand."""
        lowered = self.xray.strip().lower()
        if lowered in ("true", "1"):
            return True
        if lowered in ("false", "0", ""):
            return False
        if lowered.isdigit():
            return int(lowered)
        raise ApiError(422, f'"xray": expected true, false or a depth, got {self.xray!r}')


class SubgraphQuery(RequestModel):
    recurse: bool = False


@blueprint.post("/assistants")
async def create_assistant() -> Response:
    body = await parse_body(AssistantCreate, allow_empty=False)
    graphs = context.graphs()
    graphs.source(body.graph_id)  # 404 naming the known graphs
    storage = context.storage()
    owner = context.current_owner()
    assistant_id = str(body.assistant_id or uuid.uuid4())
    existing = await storage.get_assistant(assistant_id, None)
    if existing is not None:
        visible = await storage.get_assistant(assistant_id, owner)
        if body.if_exists == "do_nothing" and visible is not None:
            return json_response(visible)
        raise ApiError(409, f"Assistant {assistant_id} already exists")
    assistant = new_assistant_record(
        assistant_id=assistant_id,
        graph_id=body.graph_id,
        config=body.config,
        context=body.context,
        metadata=owned_metadata(body.metadata, owner),
        name=body.name,
        description=body.description,
    )
    await storage.put_assistant(assistant)
    return json_response(assistant)


@blueprint.post("/assistants/search")
async def search_assistants() -> Response:
    body = await parse_body(AssistantSearch)
    found, total = await context.storage().search_assistants(
        context.current_owner(),
        graph_id=body.graph_id,
        metadata=body.metadata,
        name=body.name,
        limit=body.limit,
        offset=body.offset,
        sort_by=body.sort_by,
        sort_order=body.sort_order,
    )
    return search_page_response(found, total, offset=body.offset, select=body.select)


@blueprint.post("/assistants/count")
async def count_assistants() -> Response:
    body = await parse_body(AssistantCount)
    _, total = await context.storage().search_assistants(
        context.current_owner(),
        graph_id=body.graph_id,
        metadata=body.metadata,
        name=body.name,
        limit=0,
    )
    return json_response(total)


@blueprint.get("/assistants/<assistant_id>")
async def get_assistant(assistant_id: str) -> Response:
    # Upstream answers this one route with the bare phrase.
    return json_response(await _visible_assistant(assistant_id, not_found_detail="Not Found"))


@blueprint.patch("/assistants/<assistant_id>")
async def patch_assistant(assistant_id: str) -> Response:
    body = await parse_body(AssistantPatch)
    current = await _visible_assistant(assistant_id)
    storage = context.storage()
    if body.graph_id is not None:
        context.graphs().source(body.graph_id)
    versions = await storage.list_assistant_versions(
        current["assistant_id"], context.current_owner(), limit=1
    )
    latest_version = max([current["version"], *(entry["version"] for entry in versions)])
    metadata = {**(current.get("metadata") or {}), **(body.metadata or {})}
    owner = context.current_owner()
    updated: Record = {
        **current,
        "graph_id": body.graph_id or current["graph_id"],
        "config": body.config if body.config is not None else current.get("config") or {},
        "context": body.context if body.context is not None else current.get("context") or {},
        "metadata": owned_metadata(metadata, owner) if owner else metadata,
        "name": body.name if body.name is not None else current.get("name"),
        "description": (
            body.description if body.description is not None else current.get("description")
        ),
        "updated_at": now_iso(),
        "version": latest_version + 1,
    }
    await storage.put_assistant(updated)
    return json_response(updated)


@blueprint.delete("/assistants/<assistant_id>")
async def delete_assistant(assistant_id: str) -> Response:
    assistant_id = parse_uuid(assistant_id, "assistant")
    if not await context.storage().delete_assistant(assistant_id, context.current_owner()):
        raise ApiError(404, f"Assistant with ID {assistant_id} not found")
    return no_content()


@blueprint.post("/assistants/<assistant_id>/versions")
async def list_versions(assistant_id: str) -> Response:
    body = await parse_body(VersionSearch)
    assistant = await _visible_assistant(assistant_id)
    versions = await context.storage().list_assistant_versions(
        assistant["assistant_id"],
        context.current_owner(),
        metadata=body.metadata,
        limit=body.limit,
        offset=body.offset,
    )
    return json_response(versions)


@blueprint.post("/assistants/<assistant_id>/latest")
async def set_latest_version(assistant_id: str) -> Response:
    body = await parse_body(SetLatest, allow_empty=False)
    current = await _visible_assistant(assistant_id)
    storage = context.storage()
    owner = context.current_owner()
    # Versions are few; reading them all keeps the storage interface small.
    versions = await storage.list_assistant_versions(current["assistant_id"], owner, limit=10_000)
    chosen = next((entry for entry in versions if entry["version"] == body.version), None)
    if chosen is None:
        raise ApiError(
            404, f"Version {body.version} of assistant {current['assistant_id']} not found"
        )
    updated = {
        **current,
        **{key: chosen[key] for key in ("graph_id", "config", "context", "metadata", "name")},
        "description": chosen.get("description"),
        "version": chosen["version"],
        "updated_at": now_iso(),
    }
    await storage.put_assistant(updated)
    return json_response(updated)


@blueprint.get("/assistants/<assistant_id>/schemas")
async def get_schemas(assistant_id: str) -> Response:
    assistant = await _visible_assistant(assistant_id)
    schemas = await context.graphs().schemas(
        assistant["graph_id"], assistant_runnable_config(assistant)
    )
    return json_response(schemas)


@blueprint.get("/assistants/<assistant_id>/graph")
async def get_graph_drawing(assistant_id: str) -> Response:
    query = parse_query(GraphQuery)
    # Upstream lets this one route take a graph id for its system assistant.
    if assistant_id in context.graphs():
        assistant_id = system_assistant_id(assistant_id)
    assistant = await _visible_assistant(assistant_id)
    drawing = await context.graphs().drawing(
        assistant["graph_id"], assistant_runnable_config(assistant), xray=query.xray_depth()
    )
    return json_response(drawing)


@blueprint.get("/assistants/<assistant_id>/subgraphs")
async def get_subgraphs(assistant_id: str) -> Response:
    return await _subgraphs(assistant_id, None)


@blueprint.get("/assistants/<assistant_id>/subgraphs/<path:namespace>")
async def get_subgraphs_in_namespace(assistant_id: str, namespace: str) -> Response:
    return await _subgraphs(assistant_id, namespace)


async def _subgraphs(assistant_id: str, namespace: str | None) -> Response:
    query = parse_query(SubgraphQuery)
    assistant = await _visible_assistant(assistant_id)
    found = await context.graphs().subgraph_schemas(
        assistant["graph_id"],
        assistant_runnable_config(assistant),
        namespace=namespace,
        recurse=query.recurse,
    )
    return json_response(found)


def assistant_runnable_config(assistant: Record) -> RunnableConfig:
    """The config a factory is called with to describe the assistant's graph: the assistant's
    config, with its context merged into ``configurable``."""
    config = dict(assistant.get("config") or {})
    configurable = {**(config.get("configurable") or {}), **(assistant.get("context") or {})}
    return RunnableConfig(**{**config, "configurable": configurable})  # type: ignore[typeddict-item]


async def _visible_assistant(assistant_id: str, *, not_found_detail: str | None = None) -> Record:
    assistant_id = parse_uuid(assistant_id, "assistant")
    assistant = await context.storage().get_assistant(assistant_id, context.current_owner())
    if assistant is None:
        raise ApiError(404, not_found_detail or f"Assistant with ID {assistant_id} not found")
    return assistant
