"""Live mode on a model that takes another path than the recording: transcripts a live
``langgraph dev`` sent while a real model called a tool on "hi" (``live_recordings/``) are
judged with no finding, and the same transcripts broken the way a server breaks a stream
(the metadata event late, a mode nobody asked for, no run_done, a key that is no id, a
number for an id, a buffered stream) are still caught: what the model's path explains is
relaxed, nothing else."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from conformance.check import judge_transcript, relaxations
from conformance.findings import Finding
from conformance.run_config_echo import with_model_settings
from conformance.scenarios import CATALOGUE
from conformance.sse import SSEEvent, parse_stream
from conformance.transcript import Chunk, Exchange, Transcript, load

LIVE_RECORDINGS = Path(__file__).parent / "live_recordings"
FIXTURES = Path(__file__).parents[2] / "fixtures"
SCENARIOS = (
    "multitask_enqueue",
    "react_agent_updates",
    "stream_messages_greeting",
    "stream_messages_tuple_greeting",
    "thread_stream",
)
MODEL_SETTINGS = {"model_name": "smollm2-135m"}
"""What the check sent (``--llm-model``): langgraph dev echoes it in the run metadata."""


def _findings(scenario: str, actual: Transcript, *, live: bool = True) -> list[Finding]:
    fixture = with_model_settings(
        CATALOGUE[scenario], load(FIXTURES / f"{scenario}.json"), MODEL_SETTINGS
    )
    mode = "live" if live else "fake"
    relax = relaxations(CATALOGUE[scenario], llm_mode=mode, graph_map={})
    return judge_transcript(scenario, fixture, actual, relax=relax, live_model=live)


def _failures(scenario: str, actual: Transcript, *, live: bool = True) -> list[Finding]:
    return [finding for finding in _findings(scenario, actual, live=live) if finding.is_failure]


def _described(findings: list[Finding]) -> str:
    return "\n".join(f"{f.rule} at {f.location()}: {f.message}" for f in findings)


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_a_live_models_other_path_on_langgraph_dev_is_no_finding(scenario: str) -> None:
    actual = load(LIVE_RECORDINGS / f"{scenario}.json")
    # Not even a SHOULD: every finding on the ground truth would be the suite's bug.
    assert _findings(scenario, actual) == [], _described(_findings(scenario, actual))
    # The path really is another one: compared exactly, it diverges.
    assert _failures(scenario, actual, live=False)


def _render(events: list[SSEEvent]) -> bytes:
    out = ""
    for event in events:
        out += f"event: {event.event}\r\ndata: {event.data}\r\n"
        if event.id is not None:
            out += f"id: {event.id}\r\n"
        out += "\r\n"
    return out.encode()


def _broken(
    scenario: str, step: str, change: Callable[[list[SSEEvent]], list[SSEEvent]]
) -> Transcript:
    """The live transcript with one stream's events changed, written as one network read."""
    transcript = load(LIVE_RECORDINGS / f"{scenario}.json")
    exchanges: list[Exchange] = []
    for exchange in transcript.exchanges:
        if exchange.step == step:
            events = change(list(parse_stream(exchange.response.body).events))
            chunks = [Chunk(at_ms=exchange.response.chunks[-1].at_ms, data=_render(events))]
            response = dataclasses.replace(exchange.response, chunks=chunks)
            exchange = dataclasses.replace(exchange, response=response)
        exchanges.append(exchange)
    return dataclasses.replace(transcript, exchanges=exchanges)


def _with_data(event: SSEEvent, data: object) -> SSEEvent:
    return dataclasses.replace(event, data=json.dumps(data))


def _metadata_late(events: list[SSEEvent]) -> list[SSEEvent]:
    return [events[1], events[0], *events[2:]]


def _values_unasked(events: list[SSEEvent]) -> list[SSEEvent]:
    return [*events[:2], dataclasses.replace(events[1], event="values"), *events[2:]]


def _no_run_done(events: list[SSEEvent]) -> list[SSEEvent]:
    return [event for event in events if event.event != "metadata"]


def _tool_message_keyed_by_name(events: list[SSEEvent]) -> list[SSEEvent]:
    # The second messages/metadata event is the tool message's (the model called a tool).
    position = [e.event for e in events].index("messages/metadata", 2)
    (value,) = json.loads(events[position].data).values()
    return [
        *events[:position],
        _with_data(events[position], {"get_weather": value}),
        *events[position + 1 :],
    ]


def _tool_message_id_a_number(events: list[SSEEvent]) -> list[SSEEvent]:
    position = next(i for i, e in enumerate(events) if '"tools"' in e.data)
    update = json.loads(events[position].data)
    update["tools"]["messages"][0]["id"] = 7
    return [*events[:position], _with_data(events[position], update), *events[position + 1 :]]


def _tool_message_untyped(events: list[SSEEvent]) -> list[SSEEvent]:
    # A messages-tuple event of the tool's result, which the recording's path has not.
    position = next(i for i, e in enumerate(events) if '"type":"tool"' in e.data)
    chunk, metadata = json.loads(events[position].data)
    del chunk["type"]
    changed = _with_data(events[position], [chunk, metadata])
    return [*events[:position], changed, *events[position + 1 :]]


def _tool_message_without_metadata(events: list[SSEEvent]) -> list[SSEEvent]:
    position = next(i for i, e in enumerate(events) if '"type":"tool"' in e.data)
    chunk, _ = json.loads(events[position].data)
    changed = _with_data(events[position], chunk)
    return [*events[:position], changed, *events[position + 1 :]]


@pytest.mark.parametrize(
    ("scenario", "step", "change", "rule", "said"),
    [
        (
            "stream_messages_tuple_greeting",
            "stream",
            _tool_message_untyped,
            "replay.shape",
            "key 'type' is missing",
        ),
        (
            "stream_messages_tuple_greeting",
            "stream",
            _tool_message_without_metadata,
            "replay.shape",
            "object where langgraph dev has array",
        ),
        (
            "react_agent_updates",
            "stream",
            _metadata_late,
            "replay.event-order",
            "the stream starts with 'updates'",
        ),
        (
            "react_agent_updates",
            "stream",
            _values_unasked,
            "replay.event-order",
            "event 'values' where langgraph dev sends none",
        ),
        (
            "thread_stream",
            "thread_stream_after_event",
            _no_run_done,
            "replay.event-order",
            "no 'metadata' event",
        ),
        (
            "stream_messages_greeting",
            "stream",
            _tool_message_keyed_by_name,
            "replay.shape",
            "is missing",
        ),
        (
            "react_agent_updates",
            "stream",
            _tool_message_id_a_number,
            "replay.shape",
            "number where langgraph dev has null",
        ),
    ],
)
def test_live_mode_still_catches_a_broken_server_on_the_models_path(
    scenario: str,
    step: str,
    change: Callable[[list[SSEEvent]], list[SSEEvent]],
    rule: str,
    said: str,
) -> None:
    findings = _failures(scenario, _broken(scenario, step, change))
    assert any(f.rule == rule and f.step == step and said in f.message for f in findings), (
        _described(findings)
    )


def test_live_mode_still_catches_a_buffered_stream_on_the_models_path() -> None:
    transcript = load(LIVE_RECORDINGS / "stream_messages_greeting.json")
    exchanges = []
    for exchange in transcript.exchanges:
        if exchange.step == "stream":
            # Everything the model produced over seconds arrives at the end, at once.
            end = exchange.response.chunks[-1].at_ms
            chunks = [dataclasses.replace(c, at_ms=end) for c in exchange.response.chunks]
            exchange = dataclasses.replace(
                exchange, response=dataclasses.replace(exchange.response, chunks=chunks)
            )
        exchanges.append(exchange)
    findings = _failures(
        "stream_messages_greeting", dataclasses.replace(transcript, exchanges=exchanges)
    )
    assert any(f.rule == "stream.incremental" for f in findings), _described(findings)
