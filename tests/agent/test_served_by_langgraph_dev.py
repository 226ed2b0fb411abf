"""The graphs as `langgraph dev` (the ground truth) serves them from the project's langgraph.json."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from agent_loopback import LoopbackServer
from agent_openai_stand_in import GREETING, StandInLLM

from agent.config import AUTHENTICATION_INSTRUCTION
from conformance.oracle import start_langgraph_dev

LANGGRAPH_JSON = Path(__file__).parents[2] / "langgraph.json"
GRAPH_IDS = {
    "agent",
    "weather_agent",
    "approval_agent",
    "parent_agent",
    "custom_events",
    "react_agent",
}
SECRET = "sk-must-not-be-echoed-5150"


@pytest.fixture(scope="module")
def llm() -> Iterator[tuple[StandInLLM, str]]:
    stand_in = StandInLLM()
    with LoopbackServer(stand_in.app()) as server:
        yield stand_in, server.url + "/v1"


@pytest.fixture(scope="module")
def dev_url() -> Iterator[str]:
    server = start_langgraph_dev(LANGGRAPH_JSON)
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture
def client(dev_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=dev_url, timeout=60.0) as http:
        yield http


def _system_assistant(client: httpx.Client, graph_id: str) -> dict[str, Any]:
    response = client.post("/assistants/search", json={"graph_id": graph_id})
    response.raise_for_status()
    (assistant,) = response.json()
    return assistant


def test_every_graph_is_served(client: httpx.Client) -> None:
    response = client.post("/assistants/search", json={})

    assert response.status_code == 200
    assert {assistant["graph_id"] for assistant in response.json()} == GRAPH_IDS


def test_the_agent_schema_shows_the_oap_fields(client: httpx.Client) -> None:
    assistant = _system_assistant(client, "agent")

    schemas = client.get(f"/assistants/{assistant['assistant_id']}/schemas").json()

    properties = schemas["config_schema"]["properties"]
    assert set(properties) == {
        "model_name",
        "temperature",
        "max_tokens",
        "system_prompt",
        "base_url",
        "custom_model_name",
        "custom_api_key",
        "mcp_config",
        "rag",
    }
    assert all("x_oap_ui_config" in spec for spec in properties.values())
    assert properties["temperature"]["x_oap_ui_config"]["max"] == 2


def test_run_config_overrides_the_assistant_and_reaches_the_model(
    client: httpx.Client, llm: tuple[StandInLLM, str]
) -> None:
    stand_in, llm_url = llm
    created = client.post(
        "/assistants",
        json={
            "graph_id": "agent",
            "config": {
                "configurable": {
                    "base_url": llm_url,
                    "custom_model_name": "assistant-model",
                    "system_prompt": "Assistant prompt.",
                }
            },
        },
    )
    assert created.status_code == 200, created.text
    thread = client.post("/threads", json={}).json()
    stand_in.calls.clear()

    result = client.post(
        f"/threads/{thread['thread_id']}/runs/wait",
        json={
            "assistant_id": created.json()["assistant_id"],
            "input": {"messages": [{"role": "user", "content": "hi"}]},
            "config": {"configurable": {"system_prompt": "Run prompt."}},
        },
    )

    assert result.status_code == 200, result.text
    assert result.json()["messages"][-1]["content"] == GREETING
    (call,) = stand_in.calls
    assert call.body["model"] == "assistant-model"
    assert call.body["messages"][0] == {
        "role": "system",
        "content": f"Run prompt.\n\n{AUTHENTICATION_INSTRUCTION}",
    }


def test_the_custom_api_key_is_used_but_never_echoed(
    client: httpx.Client, llm: tuple[StandInLLM, str]
) -> None:
    stand_in, llm_url = llm
    stand_in.calls.clear()

    with client.stream(
        "POST",
        "/runs/stream",
        json={
            "assistant_id": "agent",
            "input": {"messages": [{"role": "user", "content": "hi"}]},
            "stream_mode": ["messages", "values", "updates", "debug"],
            "config": {"configurable": {"base_url": llm_url, "custom_api_key": SECRET}},
        },
        headers={"x-supabase-access-token": "supabase-secret-token"},
    ) as response:
        body = response.read().decode()

    assert response.status_code == 200
    assert "event: messages/metadata" in body
    assert GREETING.split()[0] in body
    assert SECRET not in body
    assert "supabase-secret-token" not in body
    assert stand_in.calls[0].headers["authorization"] == f"Bearer {SECRET}"


def test_weather_agent_round_trip(client: httpx.Client, llm: tuple[StandInLLM, str]) -> None:
    _stand_in, llm_url = llm

    result = client.post(
        "/runs/wait",
        json={
            "assistant_id": "weather_agent",
            "input": {"messages": [{"role": "user", "content": "What is the weather in Paris?"}]},
            "config": {"configurable": {"base_url": llm_url}},
        },
    )

    assert result.status_code == 200, result.text
    contents = [message["content"] for message in result.json()["messages"]]
    assert contents[-2:] == [
        "It is sunny and 21°C in Paris.",
        "Tool said: It is sunny and 21°C in Paris.",
    ]


def test_approval_agent_interrupts_and_resumes(client: httpx.Client) -> None:
    thread_id = client.post("/threads", json={}).json()["thread_id"]

    first = client.post(
        f"/threads/{thread_id}/runs/wait",
        json={
            "assistant_id": "approval_agent",
            "input": {"messages": [{"role": "user", "content": "please"}]},
        },
    ).json()
    thread = client.get(f"/threads/{thread_id}").json()
    resumed = client.post(
        f"/threads/{thread_id}/runs/wait",
        json={"assistant_id": "approval_agent", "command": {"resume": "yes"}},
    ).json()

    assert first["__interrupt__"][0]["value"]["question"] == "Approve the proposal?"
    assert thread["status"] == "interrupted"
    assert resumed["messages"][-1]["content"] == "The proposal was approved (answer: yes)."
    assert json.dumps(resumed).count("__interrupt__") == 0
