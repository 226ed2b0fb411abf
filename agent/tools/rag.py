"""RAG tools: one search tool per configured collection of a LangConnect-style RAG server.

Failures (server down, 4xx/5xx, bad JSON) are returned to the model as the tool's text output,
so a broken RAG server degrades the answer instead of crashing the run.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import httpx
from langchain_core.tools import BaseTool, StructuredTool
from pydantic import BaseModel, Field

from agent.config import RagConfig

logger = logging.getLogger(__name__)

SEARCH_LIMIT = 10
REQUEST_TIMEOUT_SECONDS = 15.0
_TOOL_NAME_FORBIDDEN = re.compile(r"[^a-zA-Z0-9_-]+")
_TOOL_NAME_MAX_LENGTH = 64


class _SearchArguments(BaseModel):
    query: str = Field(description="What to search the collection for.")


class _CollectionInfo(BaseModel):
    collection_id: str
    name: str
    description: str


def _tool_name(collection_name: str) -> str:
    # OpenAI rejects tool names outside [a-zA-Z0-9_-]{1,64}.
    cleaned = _TOOL_NAME_FORBIDDEN.sub("_", collection_name).strip("_")
    return (cleaned or "collection")[:_TOOL_NAME_MAX_LENGTH]


def _headers(access_token: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {access_token}"} if access_token else {}


def _collection_url(rag_url: str, collection_id: str) -> str:
    return f"{rag_url.rstrip('/')}/collections/{collection_id}"


async def _describe_collection(
    client: httpx.AsyncClient, rag_url: str, collection_id: str, access_token: str | None
) -> _CollectionInfo:
    fallback_name = f"collection_{collection_id}"
    try:
        response = await client.get(
            _collection_url(rag_url, collection_id), headers=_headers(access_token)
        )
        response.raise_for_status()
        body = response.json()
    except (httpx.HTTPError, ValueError) as error:
        # Still offer the tool: its searches will report the failure to the model.
        logger.warning("could not describe RAG collection %s: %s", collection_id, error)
        return _CollectionInfo(
            collection_id=collection_id,
            name=_tool_name(fallback_name),
            description=f"Search the documents of collection {collection_id}.",
        )
    if not isinstance(body, dict):
        body = {}
    name = str(body.get("name") or fallback_name)
    metadata = body.get("metadata")
    # LangConnect keeps the description in the collection's metadata; accept it top-level too.
    description = (metadata.get("description") if isinstance(metadata, dict) else None) or body.get(
        "description"
    )
    return _CollectionInfo(
        collection_id=collection_id,
        name=_tool_name(name),
        description=str(description or f"Search the documents of the {name} collection."),
    )


def _format_documents(documents: list[Any]) -> str:
    if not documents:
        return "No matching documents."
    parts = []
    for document in documents:
        if not isinstance(document, dict):
            parts.append(f"<document>{document}</document>")
            continue
        content = document.get("page_content", document.get("content", ""))
        parts.append(f'<document id="{document.get("id", "")}">{content}</document>')
    return "<all-documents>\n" + "\n".join(parts) + "\n</all-documents>"


async def search_collection(
    rag_url: str,
    collection_id: str,
    query: str,
    *,
    access_token: str | None = None,
    limit: int = SEARCH_LIMIT,
) -> str:
    """Search one collection; returns the documents, or the failure, as text for the model."""
    url = f"{_collection_url(rag_url, collection_id)}/documents/search"
    try:
        async with httpx.AsyncClient(timeout=REQUEST_TIMEOUT_SECONDS) as client:
            response = await client.post(
                url, json={"query": query, "limit": limit}, headers=_headers(access_token)
            )
            response.raise_for_status()
            documents = response.json()
    except httpx.HTTPStatusError as error:
        return (
            f"Error searching collection {collection_id}: the RAG server answered "
            f"HTTP {error.response.status_code}."
        )
    except httpx.HTTPError as error:
        return f"Error searching collection {collection_id}: {type(error).__name__}: {error}"
    except ValueError:
        return f"Error searching collection {collection_id}: the RAG server sent invalid JSON."
    if not isinstance(documents, list):
        return f"Error searching collection {collection_id}: expected a list of documents."
    return _format_documents(documents)


def _search_tool(rag_url: str, info: _CollectionInfo, access_token: str | None) -> BaseTool:
    async def search(query: str) -> str:
        return await search_collection(
            rag_url, info.collection_id, query, access_token=access_token
        )

    return StructuredTool.from_function(
        coroutine=search,
        name=info.name,
        description=info.description,
        args_schema=_SearchArguments,
    )


async def rag_tools(rag_config: RagConfig | None, *, access_token: str | None) -> list[BaseTool]:
    """One search tool per collection in ``rag_config`` (none when no URL or collections)."""
    if rag_config is None or not rag_config.rag_url or not rag_config.collections:
        return []
    rag_url = rag_config.rag_url
    async with httpx.AsyncClient(timeout=REQUEST_TIMEOUT_SECONDS) as client:
        infos = [
            await _describe_collection(client, rag_url, collection_id, access_token)
            for collection_id in rag_config.collections
        ]
    return [_search_tool(rag_url, info, access_token) for info in _unique_names(infos)]


def _unique_names(infos: list[_CollectionInfo]) -> list[_CollectionInfo]:
    # Two collections may share a name; the model needs distinct tool names to tell them apart.
    seen: set[str] = set()
    unique = []
    for info in infos:
        name, suffix = info.name, 2
        while name in seen:
            name = f"{info.name[: _TOOL_NAME_MAX_LENGTH - 4]}_{suffix}"
            suffix += 1
        seen.add(name)
        unique.append(info.model_copy(update={"name": name}))
    return unique
