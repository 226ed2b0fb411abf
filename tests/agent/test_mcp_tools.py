"""MCP tools against a real FastMCP server on loopback; the token exchange and its cache."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import respx
from agent_loopback import LoopbackServer
from agent_mcp_server import MCP_ACCESS_TOKEN, SIGN_IN_URL, SUPABASE_TOKEN, McpTestServer
from langchain_core.messages import ToolMessage
from langchain_core.tools import BaseTool
from langgraph.store.memory import InMemoryStore
from mcp.shared.exceptions import McpError
from mcp.types import ErrorData

from agent.config import MCPConfig
from agent.tools.mcp import (
    ACCESS_TOKEN_TYPE,
    INTERACTION_REQUIRED,
    TOKEN_EXCHANGE_GRANT_TYPE,
    TokenExchangeError,
    authentication_interceptor,
    exchange_token,
    mcp_access_token,
    mcp_tools,
    token_namespace,
)

TOKEN_SERVER = "http://mcp-auth.test"


@pytest.fixture
def open_server() -> Iterator[tuple[McpTestServer, str]]:
    server = McpTestServer(require_token=False)
    with LoopbackServer(server.app()) as running:
        yield server, running.url


@pytest.fixture
def guarded_server() -> Iterator[tuple[McpTestServer, str]]:
    server = McpTestServer(require_token=True)
    with LoopbackServer(server.app()) as running:
        yield server, running.url


def _call(tool: BaseTool, args: dict[str, Any]) -> dict[str, Any]:
    return {"type": "tool_call", "id": "call-1", "name": tool.name, "args": args}


def _text(message: ToolMessage) -> str:
    if isinstance(message.content, str):
        return message.content
    return "".join(block["text"] for block in message.content if isinstance(block, dict))


async def test_only_the_configured_tools_are_exposed(
    open_server: tuple[McpTestServer, str],
) -> None:
    _server, url = open_server

    tools = await mcp_tools(
        MCPConfig(url=url, tools=["add", "echo", "not_on_server"]),
        subject_token=None,
        store=None,
        owner=None,
    )

    assert sorted(tool.name for tool in tools) == ["add", "echo"]
    by_name = {tool.name: tool for tool in tools}
    result = await by_name["add"].ainvoke(_call(by_name["add"], {"a": 2, "b": 40}))
    assert isinstance(result, ToolMessage)
    assert _text(result) == "42"


async def test_nothing_configured_means_no_tools_and_no_connection() -> None:
    unreachable = "http://127.0.0.1:9"
    assert await mcp_tools(None, subject_token=None, store=None, owner=None) == []
    assert (
        await mcp_tools(MCPConfig(tools=["add"]), subject_token=None, store=None, owner=None) == []
    )
    assert (
        await mcp_tools(MCPConfig(url=unreachable), subject_token=None, store=None, owner=None)
        == []
    )


async def test_an_unreachable_server_is_skipped_not_fatal() -> None:
    tools = await mcp_tools(
        MCPConfig(url="http://127.0.0.1:9", tools=["add"]),
        subject_token=None,
        store=None,
        owner=None,
    )

    assert tools == []


async def test_auth_required_exchanges_the_user_token_and_calls_with_it(
    guarded_server: tuple[McpTestServer, str],
) -> None:
    server, url = guarded_server

    tools = await mcp_tools(
        MCPConfig(url=url, tools=["echo"], auth_required=True),
        subject_token=SUPABASE_TOKEN,
        store=None,
        owner=None,
    )

    assert [tool.name for tool in tools] == ["echo"]
    assert server.token_requests == [
        {
            "grant_type": TOKEN_EXCHANGE_GRANT_TYPE,
            "subject_token": SUPABASE_TOKEN,
            "subject_token_type": ACCESS_TOKEN_TYPE,
            "resource": f"{url}/mcp",
        }
    ]
    result = await tools[0].ainvoke(_call(tools[0], {"text": "hi"}))
    assert _text(result) == "echo: hi"


async def test_without_the_exchange_the_guarded_server_refuses(
    guarded_server: tuple[McpTestServer, str],
) -> None:
    server, url = guarded_server

    no_token = await mcp_tools(
        MCPConfig(url=url, tools=["echo"], auth_required=True),
        subject_token=None,
        store=None,
        owner=None,
    )
    wrong_token = await mcp_tools(
        MCPConfig(url=url, tools=["echo"], auth_required=True),
        subject_token="someone-else",
        store=None,
        owner=None,
    )
    not_declared = await mcp_tools(
        MCPConfig(url=url, tools=["echo"], auth_required=False),
        subject_token=SUPABASE_TOKEN,
        store=None,
        owner=None,
    )

    assert no_token == wrong_token == not_declared == []
    assert [request["subject_token"] for request in server.token_requests] == ["someone-else"]


async def test_authentication_required_error_becomes_a_tool_error_with_the_link(
    open_server: tuple[McpTestServer, str],
) -> None:
    _server, url = open_server
    (tool,) = await mcp_tools(
        MCPConfig(url=url, tools=["private_files"]), subject_token=None, store=None, owner=None
    )

    result = await tool.ainvoke(_call(tool, {}))

    assert isinstance(result, ToolMessage)
    assert result.status == "error"
    assert SIGN_IN_URL in _text(result)
    assert _text(result).startswith("Authentication required")


async def test_interaction_required_errors_of_older_servers_carry_their_link() -> None:
    async def refusing_handler(_request: Any) -> Any:
        raise McpError(
            ErrorData(
                code=INTERACTION_REQUIRED,
                message="Required interaction",
                data={"message": {"text": "Sign in", "url": "https://old.example.test/login"}},
            )
        )

    result = await authentication_interceptor(object(), refusing_handler)  # type: ignore[arg-type]

    assert result.isError
    assert "https://old.example.test/login" in result.content[0].text


async def test_other_mcp_errors_propagate() -> None:
    async def failing_handler(_request: Any) -> Any:
        raise McpError(ErrorData(code=-32603, message="internal"))

    with pytest.raises(McpError):
        await authentication_interceptor(object(), failing_handler)  # type: ignore[arg-type]


def _mock_token_endpoint(router: respx.MockRouter, expires_in: int = 600) -> respx.Route:
    return router.post(f"{TOKEN_SERVER}/oauth/token").respond(
        json={"access_token": MCP_ACCESS_TOKEN, "token_type": "Bearer", "expires_in": expires_in}
    )


class _Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


async def test_token_is_cached_per_owner_until_it_expires(respx_mock: respx.MockRouter) -> None:
    endpoint = _mock_token_endpoint(respx_mock, expires_in=600)
    store = InMemoryStore()
    clock = _Clock()

    async def token(owner: str) -> str:
        return await mcp_access_token(
            TOKEN_SERVER, SUPABASE_TOKEN, store=store, owner=owner, clock=clock
        )

    assert await token("alice") == MCP_ACCESS_TOKEN
    assert await token("alice") == MCP_ACCESS_TOKEN
    assert endpoint.call_count == 1
    cached = await store.aget(token_namespace("alice"), TOKEN_SERVER)
    assert cached is not None
    assert cached.value == {"access_token": MCP_ACCESS_TOKEN, "expires_at": clock.now + 600}

    await token("bob")
    assert endpoint.call_count == 2  # never shared between owners

    clock.now += 600  # expired (and within the safety margin before that)
    await token("alice")
    assert endpoint.call_count == 3


async def test_without_owner_or_store_nothing_is_cached(respx_mock: respx.MockRouter) -> None:
    endpoint = _mock_token_endpoint(respx_mock)
    store = InMemoryStore()

    await mcp_access_token(TOKEN_SERVER, SUPABASE_TOKEN, store=store, owner=None)
    await mcp_access_token(TOKEN_SERVER, SUPABASE_TOKEN, store=None, owner="alice")
    await mcp_access_token(TOKEN_SERVER, SUPABASE_TOKEN, store=store, owner="")

    assert endpoint.call_count == 3
    assert await store.asearch((token_namespace("alice")[0],)) == []


@pytest.mark.parametrize(
    ("response", "message"),
    [
        (httpx.Response(401, json={"error": "invalid_grant"}), "HTTP 401"),
        (httpx.Response(200, text="{not json"), "invalid JSON"),
        (httpx.Response(200, json={"token_type": "Bearer"}), "no access_token"),
    ],
)
async def test_token_exchange_failures_are_explained(
    respx_mock: respx.MockRouter, response: httpx.Response, message: str
) -> None:
    respx_mock.post(f"{TOKEN_SERVER}/oauth/token").mock(return_value=response)

    with pytest.raises(TokenExchangeError, match=message):
        await exchange_token(TOKEN_SERVER, SUPABASE_TOKEN)
