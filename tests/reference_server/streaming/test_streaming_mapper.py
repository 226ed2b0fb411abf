"""The event mapper on real ``astream`` output of the scenario graphs, against the event
sequences ``langgraph dev`` sends for the same graphs (see shared/protocol-notes.md)."""

from __future__ import annotations

import uuid
from collections import Counter
from typing import Any

import pytest
from langchain_core.messages import AIMessageChunk, ToolMessage
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.pregel import Pregel

from agent.scenario_graphs import approval_agent, custom_events, parent_agent, weather_agent
from reference_server.streaming.graph_stream import GraphRunRequest, stream_graph_events
from reference_server.streaming.mapper import EventMapper
from reference_server.streaming.redaction import REDACTED
from reference_server.streaming.serialise import dumps

# The chat model's HTTP client outlives one test's event loop (it is cached per endpoint), so
# every test of this module shares the session loop.
pytestmark = pytest.mark.asyncio(loop_scope="session")

WEATHER_QUESTION = "What is the weather in Paris?"


async def _events(
    graph: Pregel,
    modes: list[str],
    text: str,
    *,
    subgraphs: bool = False,
    configurable: dict[str, Any] | None = None,
) -> list[tuple[str, Any]]:
    with_checkpointer = graph.copy(update={"checkpointer": InMemorySaver()})
    config = {
        "configurable": {"thread_id": str(uuid.uuid4()), **(configurable or {})},
        "metadata": {"created_by": "system"},
        "run_id": uuid.uuid4(),
    }
    request = GraphRunRequest(
        input={"messages": [{"role": "user", "content": text}]},
        config=config,  # type: ignore[arg-type]
        stream_modes=modes,
        subgraphs=subgraphs,
    )
    return [event async for event in stream_graph_events(with_checkpointer, request)]


def _names(events: list[tuple[str, Any]]) -> list[str]:
    return [name for name, _ in events]


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        ("values", ["values"] * 4),
        ("updates", ["updates"] * 3),
        ("custom", []),
        ("tasks", ["tasks"] * 6),
        ("checkpoints", ["checkpoints"] * 5),
        ("debug", ["debug"] * 11),
    ],
)
async def test_weather_turn_sends_upstream_sequence(
    mode: str, expected: list[str], fake_llm_url: str
) -> None:
    events = await _events(
        weather_agent, [mode], WEATHER_QUESTION, configurable={"base_url": fake_llm_url}
    )
    assert _names(events) == expected


async def test_messages_mode_accumulates_and_completes_only_tool_messages(
    fake_llm_url: str,
) -> None:
    events = await _events(
        weather_agent, ["messages"], WEATHER_QUESTION, configurable={"base_url": fake_llm_url}
    )
    names = _names(events)
    assert set(names) == {"messages/metadata", "messages/partial", "messages/complete"}
    # One metadata per message: the two model replies and the tool result.
    assert names.count("messages/metadata") == 3
    assert names.count("messages/complete") == 1
    complete = next(payload for name, payload in events if name == "messages/complete")
    assert isinstance(complete[0], ToolMessage)
    partials = [payload[0] for name, payload in events if name == "messages/partial"]
    # Partials are whole messages so far (type "ai"), growing to the full reply.
    assert all(b'"type":"ai"' in dumps(partial) for partial in partials)
    assert partials[-1].content == "Here is what I found: It is sunny and 21°C in Paris."
    assert partials[-1].tool_calls == []
    first_reply = [p for p in partials if p.id == partials[0].id]
    assert first_reply[-1].tool_calls[0]["args"] == {"city": "Paris"}


async def test_messages_tuple_mode_sends_chunks_with_metadata(fake_llm_url: str) -> None:
    events = await _events(
        weather_agent, ["messages-tuple"], WEATHER_QUESTION, configurable={"base_url": fake_llm_url}
    )
    assert set(_names(events)) == {"messages"}
    chunks = [payload[0] for _, payload in events]
    assert all(isinstance(payload[1], dict) for _, payload in events)
    ai_chunks = [chunk for chunk in chunks if isinstance(chunk, AIMessageChunk)]
    assert all(chunk.id and chunk.id.startswith("lc_run--") for chunk in ai_chunks)
    assert sum(1 for chunk in ai_chunks if chunk.chunk_position == "last") == 2
    assert any(isinstance(chunk, ToolMessage) for chunk in chunks)


async def test_both_message_modes_send_only_tuples() -> None:
    events = await _events(custom_events, ["messages", "messages-tuple"], "hi")
    assert _names(events) == ["messages"]


async def test_messages_metadata_masks_credentials_from_configurable() -> None:
    mapper = EventMapper(["messages"])
    chunk = AIMessageChunk(content="x", id="m1")
    events = mapper.map_chunk((), "messages", (chunk, {"custom_api_key": "sk-1", "step": 1}))
    assert events[0] == (
        "messages/metadata",
        {"m1": {"metadata": {"custom_api_key": REDACTED, "step": 1}}},
    )
    assert b"sk-1" not in dumps(events)


async def test_checkpoint_payloads_mask_credentials_in_the_echoed_config() -> None:
    events = await _events(
        custom_events,
        ["checkpoints", "debug"],
        "hi",
        configurable={"custom_api_key": "sk-secret", "colour": "blue"},
    )
    encoded = b"".join(dumps(payload) for _, payload in events)
    assert b"sk-secret" not in encoded
    first = next(payload for name, payload in events if name == "checkpoints")
    assert first["config"]["configurable"]["custom_api_key"] == REDACTED
    assert first["config"]["configurable"]["colour"] == "blue"
    debug_checkpoint = next(
        payload for name, payload in events if name == "debug" and payload["type"] == "checkpoint"
    )
    assert debug_checkpoint["payload"]["checkpoint"]["checkpoint_ns"] == ""
    assert debug_checkpoint["payload"]["parent_checkpoint"] is None


async def test_events_mode_hides_root_stream_and_feeds_other_modes() -> None:
    events = await _events(custom_events, ["events", "values", "custom"], "hi")
    counts = Counter(_names(events))
    assert counts["values"] == 2
    assert counts["custom"] == 3
    graph_events = [payload for name, payload in events if name == "events"]
    assert graph_events[0]["event"] == "on_chain_start"
    assert graph_events[-1]["event"] == "on_chain_end"
    root_streams = [
        event
        for event in graph_events
        if event["event"] == "on_chain_stream" and not event.get("parent_ids")
    ]
    assert root_streams == []


async def test_events_mode_alone_sends_only_events(fake_llm_url: str) -> None:
    events = await _events(
        weather_agent, ["events"], WEATHER_QUESTION, configurable={"base_url": fake_llm_url}
    )
    assert set(_names(events)) == {"events"}
    kinds = [payload["event"] for _, payload in events]
    assert kinds.count("on_chat_model_start") == 2
    assert "on_tool_end" in kinds


async def test_interrupt_reaches_updates_and_values() -> None:
    events = await _events(approval_agent, ["values", "updates"], "go")
    assert _names(events) == ["values", "updates", "values", "updates", "values"]
    assert "__interrupt__" in events[3][1]
    assert b'"__interrupt__":[{"value":{"question":"Approve the proposal?"' in dumps(events[4][1])


async def test_subgraph_events_carry_the_namespace(fake_llm_url: str) -> None:
    events = await _events(
        parent_agent,
        ["values", "updates", "messages-tuple"],
        "hi",
        subgraphs=True,
        configurable={"base_url": fake_llm_url},
    )
    names = _names(events)
    namespaced = {name.split("|", 1)[0] for name in names if "|" in name}
    assert namespaced == {"values", "updates", "messages"}
    assert all(name.split("|", 1)[1].startswith("research:") for name in names if "|" in name)
    assert names[0] == "values" and names[-1] == "values"


async def test_messages_mode_never_carries_a_namespace(fake_llm_url: str) -> None:
    events = await _events(
        parent_agent, ["messages"], "hi", subgraphs=True, configurable={"base_url": fake_llm_url}
    )
    assert all("|" not in name for name in _names(events))
    assert "messages/partial" in _names(events)


async def test_unrequested_modes_are_never_sent() -> None:
    events = await _events(custom_events, ["custom"], "hi")
    assert _names(events) == ["custom", "custom", "custom"]
    assert [payload for _, payload in events] == [{"progress": 1}, {"progress": 2}, {"progress": 3}]
