"""The tools agent end to end, in-process: stand-in model, real MCP server, mocked RAG."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import respx
from agent_loopback import LoopbackServer
from agent_mcp_server import SIGN_IN_URL, SUPABASE_TOKEN, McpTestServer
from agent_openai_stand_in import GREETING, StandInLLM
from langchain_core.messages import ToolMessage
from langgraph.store.memory import InMemoryStore

from agent.config import AUTHENTICATION_INSTRUCTION
from agent.graph import graph
from agent.tools.mcp import token_namespace

RAG_URL = "http://rag.test"


@pytest.fixture
def mcp_server() -> Iterator[tuple[McpTestServer, str]]:
    server = McpTestServer(require_token=True)
    with LoopbackServer(server.app()) as running:
        yield server, running.url


def _input(text: str) -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": text}]}


async def test_plain_agent_sends_the_prompt_with_the_fixed_instruction(
    stand_in: StandInLLM, stand_in_url: str
) -> None:
    configurable = {"base_url": stand_in_url, "system_prompt": "You answer in French."}
    agent = await graph({"configurable": configurable})

    result = await agent.ainvoke(_input("hi"), {"configurable": configurable})

    assert result["messages"][-1].content == GREETING
    (call,) = stand_in.calls
    system = call.body["messages"][0]
    assert system["role"] == "system"
    assert system["content"] == f"You answer in French.\n\n{AUTHENTICATION_INSTRUCTION}"
    assert "tools" not in call.body


async def test_mcp_tool_round_trip_and_auth_link_reach_the_model(
    stand_in: StandInLLM, stand_in_url: str, mcp_server: tuple[McpTestServer, str]
) -> None:
    server, url = mcp_server
    store = InMemoryStore()
    configurable = {
        "base_url": stand_in_url,
        "user_id": "alice",
        "x-supabase-access-token": SUPABASE_TOKEN,
        "mcp_config": {"url": url, "tools": ["add", "private_files"], "auth_required": True},
        "__pregel_store": store,
    }
    agent = await graph({"configurable": configurable})

    added = await agent.ainvoke(_input('use add with {"a": 2, "b": 3}'), {"configurable": {}})
    refused = await agent.ainvoke(_input("use private_files with {}"), {"configurable": {}})

    offered = {tool["function"]["name"] for tool in stand_in.calls[0].body["tools"]}
    assert offered == {"add", "private_files"}
    assert "5" in added["messages"][-1].content
    tool_message = refused["messages"][-2]
    assert isinstance(tool_message, ToolMessage)
    assert tool_message.status == "error"
    assert SIGN_IN_URL in str(tool_message.content)
    assert SIGN_IN_URL in str(stand_in.calls[-1].body["messages"][-1]["content"])
    # The exchanged token is kept under the owner's namespace for the next run.
    assert await store.aget(token_namespace("alice"), url) is not None
    await graph({"configurable": configurable})
    assert len(server.token_requests) == 1


async def test_the_store_of_a_server_runtime_is_used_for_the_token_cache(
    mcp_server: tuple[McpTestServer, str],
) -> None:
    server, url = mcp_server

    class _Runtime:
        def __init__(self, store: InMemoryStore) -> None:
            self.store = store

    store = InMemoryStore()
    configurable = {
        "langgraph_auth_user_id": "bob",
        "x-supabase-access-token": SUPABASE_TOKEN,
        "mcp_config": {"url": url, "tools": ["echo"], "auth_required": True},
        "__pregel_runtime": _Runtime(store),
    }

    await graph({"configurable": configurable})
    await graph({"configurable": configurable})

    assert len(server.token_requests) == 1
    assert await store.aget(token_namespace("bob"), url) is not None


async def test_rag_tools_are_offered_and_failures_reach_the_model_as_text(
    stand_in: StandInLLM, stand_in_url: str
) -> None:
    configurable = {
        "base_url": stand_in_url,
        "rag": {"rag_url": RAG_URL, "collections": ["c1"]},
    }
    with respx.mock(assert_all_called=True) as rag:
        rag.get(f"{RAG_URL}/collections/c1").respond(
            json={"name": "manuals", "metadata": {"description": "Product manuals."}}
        )
        rag.post(f"{RAG_URL}/collections/c1/documents/search").respond(status_code=503)
        agent = await graph({"configurable": configurable})
        result = await agent.ainvoke(_input('use manuals with {"query": "reset"}'))

    tool_message = result["messages"][-2]
    assert isinstance(tool_message, ToolMessage)
    assert tool_message.content == (
        "Error searching collection c1: the RAG server answered HTTP 503."
    )
    assert result["messages"][-1].content.startswith("Tool said: Error searching")
    assert stand_in.calls[0].body["tools"][0]["function"]["description"] == "Product manuals."


async def test_invalid_configuration_fails_with_the_field_named() -> None:
    with pytest.raises(ValueError, match="temperature"):
        await graph({"configurable": {"temperature": "hot"}})
