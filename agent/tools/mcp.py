"""MCP tools: the configured tools of a streamable-HTTP MCP server at ``{url}/mcp``.

When the server requires authentication, the user's Supabase token is exchanged for an MCP
access token (OAuth 2.0 token exchange, RFC 8693, at ``{url}/oauth/token``); the token is cached
in the LangGraph store under the owner's namespace until it expires, so a conversation does not
exchange on every run. A tool call the server refuses for want of authentication comes back to
the model as a tool error carrying the sign-in link, which the system prompt tells it to pass on.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import httpx
from langchain_core.tools import BaseTool
from langchain_mcp_adapters.client import MultiServerMCPClient
from langchain_mcp_adapters.interceptors import MCPToolCallRequest, MCPToolCallResult
from langgraph.store.base import BaseStore
from mcp.shared.exceptions import McpError
from mcp.types import URL_ELICITATION_REQUIRED, CallToolResult, TextContent

from agent.config import MCPConfig

logger = logging.getLogger(__name__)

TOKEN_EXCHANGE_GRANT_TYPE = "urn:ietf:params:oauth:grant-type:token-exchange"
ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"
TOKEN_NAMESPACE_ROOT = "mcp_tokens"
# Older servers (and Open Agent Platform's MCP servers) signal "interaction required" with it.
INTERACTION_REQUIRED = -32003
# A token this close to expiry is treated as expired: it could lapse mid-run.
EXPIRY_MARGIN_SECONDS = 30.0
DEFAULT_TOKEN_LIFETIME_SECONDS = 3600.0
REQUEST_TIMEOUT_SECONDS = 15.0
_SERVER_NAME = "mcp"


class TokenExchangeError(RuntimeError):
    """The MCP server's token endpoint refused or garbled the exchange."""


def mcp_endpoint(url: str) -> str:
    """The streamable-HTTP endpoint of an MCP server given its base URL."""
    return f"{url.rstrip('/')}/mcp"


def token_namespace(owner: str) -> tuple[str, str]:
    """Store namespace holding ``owner``'s MCP access tokens, keyed by the server's base URL."""
    return (TOKEN_NAMESPACE_ROOT, owner)


async def exchange_token(url: str, subject_token: str) -> dict[str, Any]:
    """Exchange the Supabase token for an MCP access token; returns the token response."""
    try:
        async with httpx.AsyncClient(timeout=REQUEST_TIMEOUT_SECONDS) as client:
            response = await client.post(
                f"{url.rstrip('/')}/oauth/token",
                data={
                    "grant_type": TOKEN_EXCHANGE_GRANT_TYPE,
                    "subject_token": subject_token,
                    "subject_token_type": ACCESS_TOKEN_TYPE,
                    "resource": mcp_endpoint(url),
                },
            )
    except httpx.HTTPError as error:
        raise TokenExchangeError(f"token exchange with {url} failed: {error}") from None
    if response.status_code != 200:
        raise TokenExchangeError(f"token exchange with {url} failed: HTTP {response.status_code}")
    try:
        body = response.json()
    except ValueError:
        raise TokenExchangeError(f"token exchange with {url} returned invalid JSON") from None
    if not isinstance(body, dict) or not isinstance(body.get("access_token"), str):
        raise TokenExchangeError(f"token exchange with {url} returned no access_token")
    return body


def _expires_at(token_response: dict[str, Any], now: float) -> float:
    lifetime = token_response.get("expires_in")
    if not isinstance(lifetime, int | float) or isinstance(lifetime, bool):
        lifetime = DEFAULT_TOKEN_LIFETIME_SECONDS
    return now + float(lifetime)


async def _cached_token(store: BaseStore, owner: str, url: str, now: float) -> str | None:
    item = await store.aget(token_namespace(owner), url)
    if item is None:
        return None
    token = item.value.get("access_token")
    expires_at = item.value.get("expires_at")
    if not isinstance(token, str) or not isinstance(expires_at, int | float):
        return None
    if expires_at - EXPIRY_MARGIN_SECONDS <= now:
        await store.adelete(token_namespace(owner), url)
        return None
    return token


async def mcp_access_token(
    url: str,
    subject_token: str,
    *,
    store: BaseStore | None,
    owner: str | None,
    clock: Callable[[], float] = time.time,
) -> str:
    """An MCP access token for ``owner``: from the store while valid, else a fresh exchange.

    Without a store or an owner nothing is cached (a token must never be shared between users).
    """
    now = clock()
    if store is not None and owner:
        cached = await _cached_token(store, owner, url, now)
        if cached is not None:
            return cached
    token_response = await exchange_token(url, subject_token)
    token = token_response["access_token"]
    if store is not None and owner:
        await store.aput(
            token_namespace(owner),
            url,
            {"access_token": token, "expires_at": _expires_at(token_response, now)},
            index=False,
        )
    return token


def _leaf_errors(error: BaseException) -> Iterator[BaseException]:
    # anyio task groups inside the MCP client wrap the real error in exception groups.
    if isinstance(error, BaseExceptionGroup):
        for inner in error.exceptions:
            yield from _leaf_errors(inner)
    else:
        yield error


def _authentication_links(error: McpError) -> list[str] | None:
    """The sign-in links of an "authentication required" MCP error, or None for other errors."""
    data = error.error.data if isinstance(error.error.data, dict) else {}
    if error.error.code == URL_ELICITATION_REQUIRED:
        elicitations = data.get("elicitations") or []
        return [
            str(elicitation["url"])
            for elicitation in elicitations
            if isinstance(elicitation, dict) and elicitation.get("url")
        ]
    if error.error.code == INTERACTION_REQUIRED:
        message = data.get("message")
        links = [data.get("url"), message.get("url") if isinstance(message, dict) else None]
        return [str(link) for link in links if link]
    return None


def authentication_error_text(error: McpError, links: list[str]) -> str:
    """The tool output the model gets when the MCP server wants the user to authenticate."""
    if not links:
        return f"Authentication required: {error.error.message}"
    return f"Authentication required. Ask the user to authenticate here: {' '.join(links)}"


async def authentication_interceptor(
    request: MCPToolCallRequest,
    handler: Callable[[MCPToolCallRequest], Awaitable[MCPToolCallResult]],
) -> MCPToolCallResult:
    """Turns an "authentication required" MCP error into a tool error result with the link."""
    try:
        return await handler(request)
    except BaseException as error:
        for leaf in _leaf_errors(error):
            if isinstance(leaf, McpError):
                links = _authentication_links(leaf)
                if links is not None:
                    text = authentication_error_text(leaf, links)
                    return CallToolResult(
                        content=[TextContent(type="text", text=text)], isError=True
                    )
        raise


async def mcp_tools(
    mcp_config: MCPConfig | None,
    *,
    subject_token: str | None,
    store: BaseStore | None,
    owner: str | None,
) -> list[BaseTool]:
    """The tools named in ``mcp_config.tools`` that the MCP server offers.

    Returns none when no server or no tools are configured. When authentication is required
    but there is no user token, or the exchange fails, the server is skipped with a warning:
    the conversation goes on without its tools instead of failing.
    """
    if mcp_config is None or not mcp_config.url or not mcp_config.tools:
        return []
    headers: dict[str, str] = {}
    if mcp_config.auth_required:
        if not subject_token:
            logger.warning("MCP server %s needs authentication but no user token", mcp_config.url)
            return []
        try:
            access_token = await mcp_access_token(
                mcp_config.url, subject_token, store=store, owner=owner
            )
        except TokenExchangeError as error:
            logger.warning("skipping MCP server: %s", error)
            return []
        headers["Authorization"] = f"Bearer {access_token}"
    client = MultiServerMCPClient(
        {
            _SERVER_NAME: {
                "transport": "streamable_http",
                "url": mcp_endpoint(mcp_config.url),
                "headers": headers,
            }
        },
        tool_interceptors=[authentication_interceptor],
    )
    try:
        offered = await client.get_tools()
    except Exception as error:
        logger.warning("could not list the tools of MCP server %s: %s", mcp_config.url, error)
        return []
    wanted = set(mcp_config.tools)
    return [tool for tool in offered if tool.name in wanted]
