"""The scenario graphs, run in-process against a stand-in OpenAI endpoint."""

from __future__ import annotations

from typing import Any

import pytest
from agent_openai_stand_in import GREETING, StandInLLM
from langchain_core.messages import AIMessage, ToolMessage
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import Command

from agent import scenario_graphs
from agent.model_endpoint import DEFAULT_BASE_URL, resolve_base_url


def _input(text: str) -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": text}]}


def _run_config(base_url: str, thread_id: str = "thread-1") -> dict[str, Any]:
    return {"configurable": {"base_url": base_url, "thread_id": thread_id}}


def _with_checkpointer(graph: CompiledStateGraph) -> CompiledStateGraph:
    return graph.copy(update={"checkpointer": InMemorySaver()})


async def test_weather_agent_greeting_is_one_model_call(
    stand_in: StandInLLM, stand_in_url: str
) -> None:
    result = await scenario_graphs.weather_agent.ainvoke(_input("hi"), _run_config(stand_in_url))

    assert len(stand_in.calls) == 1
    assert [tool["function"]["name"] for tool in stand_in.calls[0].body["tools"]] == ["get_weather"]
    assert result["messages"][-1].content == GREETING


async def test_weather_agent_tool_round_trip(stand_in: StandInLLM, stand_in_url: str) -> None:
    updates = [
        update
        async for update in scenario_graphs.weather_agent.astream(
            _input("What is the weather in Paris?"),
            _run_config(stand_in_url),
            stream_mode="updates",
        )
    ]

    assert [next(iter(update)) for update in updates] == ["model", "tools", "model"]
    tool_message = updates[1]["tools"]["messages"][0]
    assert isinstance(tool_message, ToolMessage)
    assert tool_message.content == "It is sunny and 21°C in Paris."
    assert updates[2]["model"]["messages"][0].content == (
        "Tool said: It is sunny and 21°C in Paris."
    )
    assert len(stand_in.calls) == 2


async def test_weather_agent_streams_tokens_in_messages_mode(stand_in_url: str) -> None:
    chunks = [
        chunk
        async for chunk, _metadata in scenario_graphs.weather_agent.astream(
            _input("hi"), _run_config(stand_in_url), stream_mode="messages"
        )
    ]

    assert len(chunks) > 2
    assert "".join(str(chunk.content) for chunk in chunks) == GREETING


async def test_approval_agent_interrupts_then_resumes() -> None:
    graph = _with_checkpointer(scenario_graphs.approval_agent)
    config = {"configurable": {"thread_id": "approval"}}

    first = await graph.ainvoke(_input("please"), config)
    interrupts = first["__interrupt__"]
    assert interrupts[0].value == {
        "question": scenario_graphs.APPROVAL_QUESTION,
        "proposal": scenario_graphs.PROPOSAL_TEXT,
    }
    assert first["messages"][-1].content == scenario_graphs.PROPOSAL_TEXT

    resumed = await graph.ainvoke(Command(resume="yes"), config)
    assert "__interrupt__" not in resumed
    assert resumed["messages"][-1].content == "The proposal was approved (answer: yes)."


@pytest.mark.parametrize(
    ("answer", "verdict"), [("yes", "approved"), ("no", "rejected"), ("Approve", "approved")]
)
def test_decision_text(answer: str, verdict: str) -> None:
    assert (
        scenario_graphs.decision_text(answer) == f"The proposal was {verdict} (answer: {answer})."
    )


async def test_parent_agent_streams_its_subgraph(stand_in: StandInLLM, stand_in_url: str) -> None:
    events = [
        (namespace, update)
        async for namespace, update in scenario_graphs.parent_agent.astream(
            _input("hi"), _run_config(stand_in_url), stream_mode="updates", subgraphs=True
        )
    ]

    namespaces = [namespace for namespace, _update in events]
    assert namespaces[0][0].startswith("research:")
    assert namespaces[1:] == [(), ()]
    assert list(events[0][1]) == ["call_model"]
    assert events[-1][1]["summarise"]["messages"][0].content == f"Summary: {GREETING}"
    assert len(stand_in.calls) == 1


async def test_custom_events_writes_three_progress_events() -> None:
    parts = [
        part
        async for part in scenario_graphs.custom_events.astream(
            _input("go"), stream_mode=["custom", "updates"]
        )
    ]

    assert parts[:3] == [("custom", {"progress": step}) for step in (1, 2, 3)]
    mode, update = parts[3]
    assert mode == "updates"
    message = update["emit_progress"]["messages"][0]
    assert isinstance(message, AIMessage)
    assert message.content == scenario_graphs.CUSTOM_EVENTS_REPLY


def test_base_url_comes_from_the_run_then_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("LLM_BASE_URL", raising=False)
    assert resolve_base_url({}) == DEFAULT_BASE_URL
    monkeypatch.setenv("LLM_BASE_URL", "http://env.invalid/v1")
    assert resolve_base_url({}) == "http://env.invalid/v1"
    assert resolve_base_url({"base_url": "http://run.invalid/v1"}) == "http://run.invalid/v1"
    with pytest.raises(TypeError, match=r"configurable\.base_url"):
        resolve_base_url({"base_url": 7})


def test_every_graph_in_langgraph_json_is_importable() -> None:
    import json
    from pathlib import Path

    config = json.loads((Path(__file__).parents[2] / "langgraph.json").read_text())
    scenario_names = {
        spec.split(":")[1]
        for spec in config["graphs"].values()
        if spec.startswith("agent.scenario_graphs:")
    }
    assert scenario_names == {
        "weather_agent",
        "approval_agent",
        "parent_agent",
        "custom_events",
        "react_agent",
    }
    for name in scenario_names:
        assert isinstance(getattr(scenario_graphs, name), CompiledStateGraph)


def test_model_graphs_also_run_synchronously(stand_in: StandInLLM, stand_in_url: str) -> None:
    weather = scenario_graphs.weather_agent.invoke(
        _input("What is the weather in Rome?"), _run_config(stand_in_url)
    )
    parent = scenario_graphs.parent_agent.invoke(_input("hi"), _run_config(stand_in_url))

    assert weather["messages"][-1].content == "Tool said: It is sunny and 21°C in Rome."
    assert parent["messages"][-1].content == f"Summary: {GREETING}"
    assert len(stand_in.calls) == 3


TWO_CITIES = "What is the weather in Paris and London?"


def test_react_agent_sends_each_tool_call_as_its_own_task(fake_llm_url: str) -> None:
    # Synchronous on purpose: langchain_openai caches one async client per base URL, and the
    # session's fake LLM is shared with async tests on other event loops (docs/fake-llm.md).
    graph = _with_checkpointer(scenario_graphs.react_agent)
    starts = []
    final: dict[str, Any] = {}
    for mode, chunk in graph.stream(
        _input(TWO_CITIES), _run_config(fake_llm_url), stream_mode=["tasks", "values"]
    ):
        if mode == "tasks" and "input" in chunk:
            starts.append(chunk)
        elif mode == "values":
            final = chunk

    # agent, then one tools task per call (Send carries the call with the state), agent.
    assert [task["name"] for task in starts] == ["agent", "tools", "tools", "agent"]
    sent = [task["input"] for task in starts[1:3]]
    assert [item["__type"] for item in sent] == ["tool_call_with_context"] * 2
    assert [item["tool_call"]["args"] for item in sent] == [{"city": "Paris"}, {"city": "London"}]
    tool_messages = [m for m in final["messages"] if isinstance(m, ToolMessage)]
    assert [m.content for m in tool_messages] == [
        "It is sunny and 21°C in Paris.",
        "It is sunny and 21°C in London.",
    ]
    assert final["messages"][-1].content == (
        "Here is what I found: It is sunny and 21°C in Paris. It is sunny and 21°C in London."
    )


def test_react_agent_also_runs_synchronously(fake_llm_url: str) -> None:
    result = scenario_graphs.react_agent.invoke(_input(TWO_CITIES), _run_config(fake_llm_url))
    assert [m.content for m in result["messages"] if isinstance(m, ToolMessage)] == [
        "It is sunny and 21°C in Paris.",
        "It is sunny and 21°C in London.",
    ]
