"""Secrets given to the agent (keys, user and MCP tokens) never show in what it streams."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from agent_loopback import LoopbackServer
from agent_mcp_server import MCP_ACCESS_TOKEN, SUPABASE_TOKEN, McpTestServer
from agent_openai_stand_in import StandInLLM
from langchain_core.callbacks import AsyncCallbackManager
from langchain_core.runnables.config import var_child_runnable_config

from agent.graph import graph
from agent.secret_redaction import REDACTED, SecretScrubbingGraph, is_secret_key, scrubbed_config

CUSTOM_KEY = "sk-custom-secret-4242"
PROVIDER_KEY = "sk-provider-secret-1717"
ALL_MODES = ["values", "updates", "messages", "custom", "debug", "tasks", "checkpoints"]


@pytest.fixture
def mcp_url() -> Iterator[str]:
    with LoopbackServer(McpTestServer(require_token=True).app()) as running:
        yield running.url


def _configurable(stand_in_url: str, mcp_url: str) -> dict[str, Any]:
    return {
        "base_url": stand_in_url,
        "custom_api_key": CUSTOM_KEY,
        "apiKeys": {"OPENAI_API_KEY": PROVIDER_KEY},
        "x-supabase-access-token": SUPABASE_TOKEN,
        "thread_id": "t-1",
        "mcp_config": {"url": mcp_url, "tools": ["echo"], "auth_required": True},
    }


def _assert_no_secret(streamed: list[Any]) -> None:
    text = repr(streamed)
    for secret in (CUSTOM_KEY, PROVIDER_KEY, SUPABASE_TOKEN, MCP_ACCESS_TOKEN):
        assert secret not in text


async def test_no_stream_mode_shows_a_secret(
    stand_in: StandInLLM, stand_in_url: str, mcp_url: str
) -> None:
    configurable = _configurable(stand_in_url, mcp_url)
    agent = await graph({"configurable": configurable})

    streamed = [
        part
        async for part in agent.astream(
            {"messages": [{"role": "user", "content": 'use echo with {"text": "x"}'}]},
            {"configurable": configurable},
            stream_mode=ALL_MODES,
        )
    ]

    assert {mode for mode, _payload in streamed} >= {"values", "updates", "messages", "debug"}
    _assert_no_secret(streamed)
    # The key was used where it belongs: on the request to the model endpoint.
    assert stand_in.calls[0].headers["authorization"] == f"Bearer {CUSTOM_KEY}"


async def test_events_show_no_secret(stand_in_url: str, mcp_url: str) -> None:
    configurable = _configurable(stand_in_url, mcp_url)
    agent = await graph({"configurable": configurable})

    events = [
        event
        async for event in agent.astream_events(
            {"messages": [{"role": "user", "content": 'use echo with {"text": "x"}'}]},
            {"configurable": configurable},
            version="v2",
        )
    ]

    assert any(event["event"] == "on_tool_end" for event in events)
    _assert_no_secret(events)


async def test_secrets_a_server_copied_into_metadata_are_dropped(
    stand_in_url: str, mcp_url: str
) -> None:
    configurable = _configurable(stand_in_url, mcp_url)
    agent = await graph({"configurable": configurable})
    # What `langgraph dev` does: string values of configurable land in the run's metadata.
    copied = {"custom_api_key": CUSTOM_KEY, "x-supabase-access-token": SUPABASE_TOKEN}

    streamed = [
        part
        async for part in agent.astream(
            {"messages": [{"role": "user", "content": "hi"}]},
            {"configurable": configurable, "metadata": copied},
            stream_mode=["messages", "debug"],
        )
    ]

    assert isinstance(agent, SecretScrubbingGraph)
    assert {mode for mode, _payload in streamed} == {"messages", "debug"}
    _assert_no_secret(streamed)
    for mode, payload in streamed:
        if mode == "messages":
            metadata = payload[1]
            assert metadata["thread_id"] == "t-1"
            assert "custom_api_key" not in metadata
            assert "x-supabase-access-token" not in metadata


@pytest.mark.parametrize(
    ("name", "secret"),
    [
        ("custom_api_key", True),
        ("apiKeys", True),
        ("x-supabase-access-token", True),
        ("Authorization", True),
        ("client_secret", True),
        ("model_name", False),
        ("user_id", False),
        ("base_url", False),
    ],
)
def test_is_secret_key(name: str, secret: bool) -> None:
    assert is_secret_key(name) is secret


def test_scrubbed_config_drops_secrets_and_keeps_the_rest() -> None:
    store_marker = object()
    config = {
        "metadata": {"custom_api_key": CUSTOM_KEY, "graph_id": "agent"},
        "configurable": {
            "apiKeys": {"OPENAI_API_KEY": PROVIDER_KEY},
            "thread_id": "t-1",
            "__pregel_store": store_marker,
        },
        "tags": ["a"],
    }

    scrubbed = scrubbed_config(config)

    assert scrubbed == {
        "metadata": {"graph_id": "agent"},
        "configurable": {"thread_id": "t-1", "__pregel_store": store_marker},
        "tags": ["a"],
    }
    assert config["metadata"]["custom_api_key"] == CUSTOM_KEY  # the caller's config is untouched
    assert scrubbed_config(None) is None


def test_secrets_inherited_through_callbacks_are_masked() -> None:
    manager = AsyncCallbackManager(handlers=[], inheritable_metadata={"custom_api_key": CUSTOM_KEY})

    scrubbed = scrubbed_config({"callbacks": manager})

    assert scrubbed is not None
    assert scrubbed["metadata"] == {"custom_api_key": REDACTED}


async def test_secrets_in_the_ambient_config_of_the_server_are_dropped(stand_in_url: str) -> None:
    configurable = {"base_url": stand_in_url, "custom_api_key": CUSTOM_KEY}
    agent = await graph({"configurable": configurable})
    # What `langgraph dev` does: the full run config, secrets in its metadata, stays ambient
    # while the graph runs, and langgraph merges it under the config the run is given.
    ambient = {"configurable": configurable, "metadata": {"custom_api_key": CUSTOM_KEY}}
    reset_token = var_child_runnable_config.set(ambient)
    try:
        streamed = [
            part
            async for part in agent.astream(
                {"messages": [{"role": "user", "content": "hi"}]},
                ambient,
                stream_mode=["messages", "debug"],
            )
        ]
    finally:
        var_child_runnable_config.reset(reset_token)

    assert streamed
    _assert_no_secret(streamed)
    assert var_child_runnable_config.get() is None


def test_the_sync_entry_points_scrub_too(stand_in_url: str) -> None:
    configurable = {"base_url": stand_in_url, "custom_api_key": CUSTOM_KEY}
    agent = asyncio.run(graph({"configurable": configurable}))

    streamed = list(
        agent.stream(
            {"messages": [{"role": "user", "content": "hi"}]},
            {"configurable": configurable, "metadata": {"custom_api_key": CUSTOM_KEY}},
            stream_mode=["messages", "debug"],
        )
    )

    assert streamed
    _assert_no_secret(streamed)
