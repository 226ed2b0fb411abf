"""The rule engine on hand-built streams: legal variations give no finding; one invalid stream
per rule gives exactly the expected finding."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from rule_streams import (
    AI_ID,
    JOIN_PATH,
    RUN_ID,
    THREAD_ID,
    TOOL_ID,
    Event,
    messages_events,
    metadata,
    sse,
    stream,
    stream_headers,
    tuple_events,
    values_events,
)

from conformance.findings import Severity
from conformance.rules.catalog import ENGINE_ERROR_RULE, RULES
from conformance.rules.context import StreamInput
from conformance.rules.engine import check_stream


def _rules(stream_input: StreamInput) -> list[tuple[str, int | None]]:
    return [(finding.rule, finding.event_index) for finding in check_stream(stream_input)]


# --- legal streams: no finding -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("events", "modes"),
    [
        (values_events(), None),
        (values_events(), ["values"]),
        (messages_events(), ["messages"]),
        (tuple_events(), ["messages-tuple"]),
        (tuple_events(), "messages-tuple"),
        (
            [*tuple_events(), ("values", {"messages": []}), ("custom", "x")],
            ["values", "custom", "messages-tuple"],
        ),
        ([metadata(), ("error", {"error": "ValueError", "message": "boom"})], ["values"]),
    ],
)
def test_langgraph_dev_streams_give_no_finding(events: list[Event], modes: Any) -> None:
    body: dict[str, Any] = {"assistant_id": "agent"}
    if modes is not None:
        body["stream_mode"] = modes
    assert _rules(stream(sse(*events), request_body=body)) == []


def _legal_variations() -> dict[str, StreamInput]:
    events = values_events()
    crlf = sse(*events)
    reordered = b"".join(
        b"event: "
        + name.encode()
        + b"\n: a comment\ndata: "
        + json.dumps(data, indent=1).replace("\n", " ").encode()
        + b"\n\n"
        for name, data in [(e[0], e[1]) for e in events]
    )
    keys_reversed = sse(("metadata", {"attempt": 1, "run_id": RUN_ID}), *events[1:])
    return {
        "lf": stream(sse(*events, newline=b"\n")),
        "cr": stream(sse(*events, newline=b"\r")),
        "mixed": stream(sse(*events[:2], newline=b"\n") + sse(*events[2:], newline=b"\r")),
        "one byte per write": stream([crlf[i : i + 1] for i in range(len(crlf))]),
        "seven bytes per write": stream([crlf[i : i + 7] for i in range(0, len(crlf), 7)]),
        "packed into one write": stream([crlf]),
        "heartbeats and comments": stream(
            b": heartbeat\r\n\r\n"
            + crlf.replace(b"event: values", b": c\r\nevent: values")
            + b": heartbeat\r\n\r\n"
        ),
        "json whitespace and comments in blocks": stream(reordered),
        "json key order": stream(keys_reversed),
        "bom": stream(b"\xef\xbb\xbf" + crlf),
        "charset omitted": stream(
            crlf, headers=[("content-type", "text/event-stream"), *stream_headers()[1:]]
        ),
        "charset spelt otherwise": stream(
            crlf,
            headers=[("Content-Type", 'text/event-stream;charset="UTF-8"'), *stream_headers()[1:]],
        ),
        "cache-control with more directives": stream(
            crlf,
            headers=[
                *stream_headers()[:3],
                ("cache-control", "no-cache, no-store"),
                stream_headers()[4],
            ],
        ),
        "stateless run": stream(
            crlf,
            path="/runs/stream",
            headers=[
                stream_headers()[0],
                ("location", f"/runs/{RUN_ID}/stream"),
                ("content-location", f"/runs/{RUN_ID}"),
                *stream_headers()[3:],
            ],
        ),
        "client disconnected mid-event": stream(crlf[:-10], closed_by="client"),
        "empty join of a finished run": stream(
            b"", method="GET", path=JOIN_PATH, request_body=None
        ),
        "error status is not a stream": stream(b'{"detail":"busy"}', status=409, headers=[]),
        "run finished when fetched": stream(crlf, run_status_after="success"),
        "heartbeats every 5 s while waiting": stream(
            [b": heartbeat\r\n\r\n"] * 6 + [crlf],
            chunk_times_ms=[5_000.0 * n for n in range(1, 8)],
        ),
        "run interrupted when fetched": stream(crlf, run_status_after="interrupted"),
    }


@pytest.mark.parametrize(("name", "stream_input"), list(_legal_variations().items()))
def test_legal_variations_give_no_finding(name: str, stream_input: StreamInput) -> None:
    assert _rules(stream_input) == [], name


def test_an_end_event_is_only_a_warning() -> None:
    events = [*values_events(), ("end", None)]
    findings = check_stream(stream(sse(*events)))
    assert [(f.rule, f.severity, f.event_index) for f in findings] == [
        ("stream.end-event", Severity.SHOULD, 3)
    ]


def test_an_end_event_after_an_error_is_not_an_event_after_error() -> None:
    events = [metadata(), ("error", {"error": "E", "message": "m"}), ("end", None)]
    assert _rules(stream(sse(*events))) == [("stream.end-event", 2)]


def test_an_end_event_of_a_resumable_stream_needs_no_id() -> None:
    events = [(n, d, f"{i}-0") for i, (n, d, *_) in enumerate(values_events())]
    body = {"assistant_id": "agent", "stream_resumable": True}
    findings = _rules(stream(sse(*events, ("end", None)), request_body=body))
    assert findings == [("stream.end-event", 3)]


def test_resumable_stream_with_increasing_ids_gives_no_finding() -> None:
    events = [
        (name, data, f"1700000000{index:03d}-0")
        for index, (name, data, *_) in enumerate(values_events())
    ]
    body = {"assistant_id": "agent", "stream_resumable": True}
    assert _rules(stream(sse(*events), request_body=body)) == []


# --- one invalid stream per rule -----------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    rule: str
    build: Callable[[], StreamInput]
    event_index: int | None


def _with_header(name: str, value: str | None) -> list[tuple[str, str]]:
    headers = [(k, v) for k, v in stream_headers() if k != name]
    return headers if value is None else [*headers, (name, value)]


def _resumable(*events: Event, **extra: Any) -> StreamInput:
    return stream(
        sse(*events), request_body={"assistant_id": "a", "stream_resumable": True}, **extra
    )


_GOOD = sse(*values_events())
_MODEL_METADATA = {"langgraph_node": "agent", "ls_provider": "openai", "ls_model_type": "chat"}
_TOKENS = ["", "Hello", "!", " How", " can", ""]


def _chunk(content: str) -> dict[str, Any]:
    return {"type": "AIMessageChunk", "content": content, "id": AI_ID, "tool_call_chunks": []}


def _token_stream() -> list[bytes]:
    """The metadata event, then one write per token of a messages-tuple answer."""
    return [sse(metadata())] + [
        sse(("messages", [_chunk(token), _MODEL_METADATA])) for token in _TOKENS
    ]


def _paced(
    writes: list[bytes], *, times: list[float], delay_ms: int | None = None, **extra: Any
) -> StreamInput:
    text = "hi" if delay_ms is None else f"hi delay:{delay_ms}"
    body = {
        "assistant_id": "a",
        "stream_mode": ["messages-tuple"],
        "input": {"messages": [{"role": "user", "content": text}]},
    }
    return stream(writes, request_body=body, chunk_times_ms=[1.0, *times], **extra)


INVALID: list[Case] = [
    Case("framing.utf8", lambda: stream(_GOOD + b'event: values\r\ndata: "\xff"\r\n\r\n'), 3),
    Case("framing.terminated", lambda: stream(_GOOD[:-2]), 2),
    Case("framing.event-without-data", lambda: stream(_GOOD + b"event: values\r\n\r\n"), 3),
    Case(
        "framing.id-without-nul",
        lambda: stream(_GOOD + b"id: 1\x00\r\ndata: {}\r\nevent: values\r\n\r\n"),
        3,
    ),
    Case("framing.retry-digits", lambda: stream(b"retry: soon\r\n\r\n" + _GOOD), 0),
    Case(
        "framing.keepalive",
        lambda: stream([_GOOD[:40], _GOOD[40:]], chunk_times_ms=[900.0, 16_500.0]),
        None,
    ),
    Case("stream.data-json", lambda: stream(_GOOD + b"event: values\r\ndata: {oops\r\n\r\n"), 3),
    Case("stream.end-event", lambda: stream(_GOOD + sse(("end", None))), 3),
    Case(
        "headers.content-type",
        lambda: stream(_GOOD, headers=_with_header("content-type", "text/plain; charset=utf-8")),
        None,
    ),
    Case(
        "headers.cache-control",
        lambda: stream(_GOOD, headers=_with_header("cache-control", None)),
        None,
    ),
    Case(
        "headers.x-accel-buffering",
        lambda: stream(_GOOD, headers=_with_header("x-accel-buffering", "yes")),
        None,
    ),
    Case("headers.location", lambda: stream(_GOOD, headers=_with_header("location", None)), None),
    Case(
        "headers.content-location",
        lambda: stream(
            _GOOD,
            headers=_with_header("content-location", f"/threads/{THREAD_ID}/runs/{THREAD_ID}"),
        ),
        None,
    ),
    Case("stream.metadata-first", lambda: stream(sse(*values_events()[1:])), 0),
    Case(
        "stream.metadata-attempt",
        lambda: stream(sse(("metadata", {"run_id": RUN_ID}), *values_events()[1:])),
        0,
    ),
    Case(
        "stream.ends",
        lambda: stream(sse(*values_events()) + b": heartbeat\r\n\r\n", closed_by="timeout"),
        len(values_events()),
    ),
    Case(
        "stream.nothing-after-error",
        lambda: stream(sse(metadata(), ("error", {"error": "E", "message": "m"}), ("values", {}))),
        2,
    ),
    Case("stream.error-payload", lambda: stream(sse(metadata(), ("error", {"detail": "boom"}))), 1),
    Case(
        "modes.requested-only",
        lambda: stream(
            sse(*values_events(), ("debug", {})),
            request_body={"assistant_id": "a", "stream_mode": ["values"]},
        ),
        3,
    ),
    Case(
        "modes.namespaced-only-with-subgraphs",
        lambda: stream(sse(metadata(), ("values|sub:1", {}))),
        1,
    ),
    Case(
        "messages.metadata-before-partial",
        lambda: stream(
            sse(metadata(), ("messages/partial", [{"id": AI_ID, "content": "x"}])),
            request_body={"assistant_id": "a", "stream_mode": "messages"},
        ),
        1,
    ),
    Case(
        "messages.tuple-shape",
        lambda: stream(
            sse(metadata(), ("messages", {"id": AI_ID})),
            request_body={"assistant_id": "a", "stream_mode": ["messages-tuple"]},
        ),
        1,
    ),
    Case(
        "messages.tuple-id",
        lambda: stream(
            sse(metadata(), ("messages", [{"content": "x"}, {}])),
            request_body={"assistant_id": "a", "stream_mode": ["messages-tuple"]},
        ),
        1,
    ),
    Case("resumable.event-ids", lambda: _resumable((*metadata(), "5-0"), ("values", {})), 1),
    Case(
        "resumable.event-ids-increasing",
        lambda: _resumable((*metadata(), "5-0"), ("values", {}, "5-0")),
        1,
    ),
    Case(
        "resumable.replay-after-last-event-id",
        lambda: stream(
            sse(("values", {}, "4-0"), ("values", {}, "6-0")),
            method="GET",
            path=JOIN_PATH,
            request_body=None,
            request_headers=[("last-event-id", "5-0")],
            run_request_body={"stream_resumable": True},
        ),
        0,
    ),
    Case("stream.intact", lambda: stream(_GOOD[:-30], closed_by="broken"), 2),
    Case(
        "messages.token-events",
        lambda: stream(
            sse(metadata(), ("messages", [_chunk("Hello! How can I help?"), _MODEL_METADATA])),
            request_body={"assistant_id": "a", "stream_mode": "messages-tuple"},
        ),
        1,
    ),
    Case(
        "stream.incremental",
        lambda: _paced(_token_stream(), times=[2.0] * 6, delay_ms=100),
        0,
    ),
    Case("runs.terminal-on-close", lambda: stream(_GOOD, run_status_after="running"), None),
    Case(
        "runs.status-after-error",
        lambda: stream(
            sse(metadata(), ("error", {"error": "E", "message": "m"})), run_status_after="success"
        ),
        1,
    ),
]


def test_every_rule_has_an_invalid_stream() -> None:
    # the cors rules judge any exchange a browser page makes, streams or not:
    # test_rules_cors.py has their invalid exchanges
    stream_rules = [rule for rule in RULES if not rule.startswith("cors.")]
    assert sorted(case.rule for case in INVALID) == sorted(stream_rules)


@pytest.mark.parametrize("case", INVALID, ids=[case.rule for case in INVALID])
def test_one_invalid_stream_per_rule(case: Case) -> None:
    findings = check_stream(case.build(), scenario="s", step="stream")
    assert [(f.rule, f.event_index) for f in findings] == [(case.rule, case.event_index)]
    finding = findings[0]
    assert finding.severity is RULES[case.rule].severity
    assert (finding.scenario, finding.step) == ("s", "stream")
    assert finding.message


# --- details of particular rules -----------------------------------------------------------------


def test_error_payload_finding_points_at_the_missing_field() -> None:
    findings = check_stream(stream(sse(metadata(), ("error", {"error": "E"}))))
    assert [(f.rule, f.pointer, f.event_index) for f in findings] == [
        ("stream.error-payload", "/message", 1)
    ]


def test_tuple_id_finding_points_at_the_chunk_id() -> None:
    body = {"assistant_id": "a", "stream_mode": ["messages-tuple"]}
    findings = check_stream(
        stream(sse(metadata(), ("messages", [{"id": None}, {}])), request_body=body)
    )
    assert [(f.rule, f.pointer, f.actual) for f in findings] == [
        ("messages.tuple-id", "/0/id", None)
    ]


def test_messages_events_under_messages_mode_are_not_tuples() -> None:
    # The bug "all message events rewritten to tuples whatever stream_mode asked".
    body = {"assistant_id": "a", "stream_mode": ["messages"]}
    events = [metadata(), ("messages", [{"id": AI_ID}, {}])]
    assert _rules(stream(sse(*events), request_body=body)) == [("modes.requested-only", 1)]


def test_feedback_event_only_when_feedback_keys_asked_for() -> None:
    events = [*values_events(), ("feedback", {"score": "https://..."})]
    asked = {"assistant_id": "a", "feedback_keys": ["score"]}
    assert _rules(stream(sse(*events), request_body=asked)) == []
    assert _rules(stream(sse(*events))) == [("modes.requested-only", 3)]


def test_subgraph_events_allowed_when_requested() -> None:
    body = {
        "assistant_id": "a",
        "stream_mode": ["values", "messages-tuple"],
        "stream_subgraphs": True,
    }
    events = [
        metadata(),
        ("values", {}),
        ("values|research:1f0", {}),
        ("messages|research:1f0", [{"id": AI_ID}, {}]),
    ]
    assert _rules(stream(sse(*events), request_body=body)) == []


def test_namespaced_unrequested_mode_is_caught_by_its_base_name() -> None:
    body = {"assistant_id": "a", "stream_mode": ["values"], "stream_subgraphs": True}
    assert _rules(stream(sse(metadata(), ("updates|x:1", {})), request_body=body)) == [
        ("modes.requested-only", 1)
    ]


def test_join_stream_judged_by_the_creating_request() -> None:
    creator = {"assistant_id": "a", "stream_mode": ["updates"], "stream_resumable": True}
    join = stream(
        sse(("updates", {}, "1-0"), ("values", {}, "2-0")),
        method="GET",
        path=JOIN_PATH,
        request_body=None,
        run_request_body=creator,
    )
    assert _rules(join) == [("modes.requested-only", 1)]
    # Without the creator the modes and resumability are unknown: nothing to judge.
    unknown = stream(sse(("values", {})), method="GET", path=JOIN_PATH, request_body=None)
    assert _rules(unknown) == []


def test_messages_metadata_before_partial_accepts_tool_messages_announced_late() -> None:
    events = messages_events()
    reordered = [events[0], events[4], events[5], events[1], events[2]]
    body = {"assistant_id": "a", "stream_mode": ["messages"]}
    assert _rules(stream(sse(*reordered), request_body=body)) == []
    late = [events[0], events[5], events[4]]
    assert _rules(stream(sse(*late), request_body=body)) == [
        ("messages.metadata-before-partial", 1)
    ]
    assert TOOL_ID in check_stream(stream(sse(*late), request_body=body))[0].message


def test_event_ids_going_backwards_and_missing() -> None:
    backwards = _resumable((*metadata(), "5-0"), ("values", {}, "4-9"))
    assert _rules(backwards) == [("resumable.event-ids", 1)]
    numeric = _resumable((*metadata(), "10"), ("values", {}, "9"))
    assert _rules(numeric) == [("resumable.event-ids", 1)]
    # Opaque ids cannot be ordered: only a repeat is judged.
    opaque = _resumable((*metadata(), "b"), ("values", {}, "a"))
    assert _rules(opaque) == []


def test_a_rejoin_from_minus_one_replays_everything() -> None:
    join = stream(
        sse(*[(n, d, f"{i}-0") for i, (n, d, *_) in enumerate(values_events())]),
        method="GET",
        path=JOIN_PATH,
        request_body=None,
        request_headers=[("Last-Event-ID", "-1")],
        run_request_body={"stream_resumable": True},
    )
    assert _rules(join) == []


def test_terminal_rule_ignores_streams_the_client_closed() -> None:
    assert _rules(stream(_GOOD, run_status_after="running", closed_by="client")) == []


def test_location_must_name_the_metadata_run() -> None:
    other = "1f0b6c3e-9999-7000-8000-00000000ffff"
    findings = check_stream(
        stream(_GOOD, headers=_with_header("location", f"/threads/{THREAD_ID}/runs/{other}/stream"))
    )
    assert [(f.rule, f.expected, f.actual) for f in findings] == [
        ("headers.location", RUN_ID, other)
    ]


def test_a_closed_empty_stream_of_a_new_run_lacks_metadata() -> None:
    assert _rules(stream(b"")) == [("stream.metadata-first", 0)]
    # A stream the client gave up on did not end: that, and only that, is the finding.
    assert _rules(stream(b"", closed_by="timeout")) == [("stream.ends", 0)]


# --- never raises --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "stream_input",
    [
        stream(b"\x00\xff\r\n\n\r: x\r\ndata", request_body=[1, 2]),
        stream(
            sse(("metadata", [1]), ("messages", 3), ("messages/partial", {"x": 1})),
            request_body="x",
        ),
        stream(
            sse(("metadata", {"run_id": 3}), ("error", "boom")), request_body={"stream_mode": 7}
        ),
        stream(sse(("messages/metadata", [1]), ("messages/partial", [1, None, {"id": 4}]))),
        StreamInput(method="", path="", status=200, response_headers=[("", "")], chunks=[b""]),
    ],
)
def test_garbage_gives_findings_not_exceptions(stream_input: StreamInput) -> None:
    findings = check_stream(stream_input)
    assert all(finding.rule in RULES for finding in findings)
    assert ENGINE_ERROR_RULE not in {finding.rule for finding in findings}


def test_a_failing_check_becomes_a_finding(monkeypatch: pytest.MonkeyPatch) -> None:
    from conformance.rules import engine

    def broken(context: object) -> list[Any]:
        raise RuntimeError("oops")

    monkeypatch.setattr(engine, "CHECKS", (broken,))
    findings = check_stream(stream(_GOOD))
    assert [(f.rule, f.severity) for f in findings] == [(ENGINE_ERROR_RULE, Severity.MUST)]
    assert "broken" in findings[0].message and "oops" in findings[0].message


# --- incremental delivery ----------------------------------------------------------------------------


def test_tokens_spread_at_the_fake_llms_pace_give_no_finding() -> None:
    spread = [100.0 * n for n in range(1, 7)]
    assert _rules(_paced(_token_stream(), times=spread, delay_ms=100)) == []


def test_tokens_spread_by_half_the_pace_pass_and_less_fails() -> None:
    # Five gaps of 100 ms expected; 250 ms in all is the least accepted (a busy machine).
    spread = [101, 150, 200, 250, 300, 351.0]
    assert _rules(_paced(_token_stream(), times=spread, delay_ms=100)) == []
    bunched = [101, 150, 200, 250, 300, 340.0]
    assert _rules(_paced(_token_stream(), times=bunched, delay_ms=100)) == [
        ("stream.incremental", 1)
    ]


def test_a_stream_held_back_until_the_model_answered_is_caught_in_values_mode() -> None:
    # Metadata, the input state, then the state with the model's answer: held back, all
    # three come together although the model took 100 ms a chunk.
    human = {"type": "human", "content": "hi delay:100", "id": "h1"}
    earlier = {"type": "ai", "content": "Hello from an earlier run", "id": "a0"}
    answer = {"type": "ai", "content": "Hello!", "id": AI_ID}
    writes = [
        sse(metadata()),
        sse(("values", {"messages": [earlier, human]})),
        sse(("values", {"messages": [earlier, human, answer]})),
    ]
    body = {
        "assistant_id": "a",
        "input": {"messages": [{"role": "user", "content": human["content"]}]},
    }
    held = stream(writes, request_body=body, chunk_times_ms=[900.0, 900.0, 900.0])
    assert _rules(held) == [("stream.incremental", 0)]
    # As langgraph dev sends it: metadata and input at the start, the answer when it is ready.
    live = stream(writes, request_body=body, chunk_times_ms=[600.0, 601.0, 1800.0])
    assert _rules(live) == []
    # The input state's own AI message (an earlier run's) is not this run's output.
    input_only = stream(writes[:2], request_body=body, chunk_times_ms=[600.0, 600.0])
    assert _rules(input_only) == []


def test_a_join_replaying_stored_events_at_once_is_not_timed() -> None:
    replay = _paced(_token_stream(), times=[2.0] * 6, delay_ms=100)
    join = stream(
        list(replay.chunks),
        method="GET",
        path=JOIN_PATH,
        request_body=None,
        run_request_body=replay.request_body,
        chunk_times_ms=list(replay.chunk_times_ms),
    )
    assert _rules(join) == []


def test_an_unpaced_fast_model_is_not_judged_by_time() -> None:
    # The fake LLM without delay: a fast server may deliver every token in one read.
    assert _rules(_paced(_token_stream(), times=[2.0] * 6)) == []


def test_a_live_model_is_judged_by_time_without_a_delay_directive() -> None:
    other_id = "lc_run--1f0b6c3e-9999-7000-8000-00000000ffff"
    second = [
        sse(("messages", [{**_chunk(token), "id": other_id}, _MODEL_METADATA])) for token in _TOKENS
    ]
    two_answers = _token_stream() + second
    # Held back whole: metadata and all twelve token events at once.
    held = _paced(two_answers, times=[1.0] * 12, live_model=True)
    assert _rules(held) == [("stream.incremental", 0)]
    # A short stream (six token events) bunched whole is what a busy machine's pause can do.
    short = _paced(_token_stream(), times=[1.0] * 6, live_model=True)
    assert _rules(short) == []
    # Metadata early, then the tokens of two answers each in a burst.
    # A real model's pace is unknown, and langgraph dev on a busy machine was seen to bunch
    # the tokens of both answers of a stream: answers are not timed one by one in live mode.
    both_bunched = _paced(two_answers, times=[300.0] * 6 + [900.0] * 6, live_model=True)
    assert _rules(both_bunched) == []
    # With the fake LLM's pace known, the same stream is a buffering server's.
    paced = _paced(two_answers, times=[300.0] * 6 + [900.0] * 6, delay_ms=100)
    assert _rules(paced) == [("stream.incremental", 1)]
    real_pace = _paced(_token_stream(), times=[20.0 * n for n in range(1, 7)], live_model=True)
    assert _rules(real_pace) == []


def test_one_event_per_message_in_messages_mode_is_caught() -> None:
    whole = {"type": "ai", "content": "Hello! How can I help?", "id": AI_ID}
    events = [
        metadata(),
        ("messages/metadata", {AI_ID: {"metadata": _MODEL_METADATA}}),
        ("messages/partial", [{**whole, "content": ""}]),
        ("messages/partial", [whole]),
    ]
    body = {"assistant_id": "a", "stream_mode": "messages"}
    assert _rules(stream(sse(*events), request_body=body)) == [("messages.token-events", 2)]


def test_a_message_a_node_returned_whole_is_one_event_legally() -> None:
    # A tool result or a summary written by a node, not a model stream: one event is right.
    summary = {"type": "ai", "content": "Summary: Hello! How can I help?", "id": "f94f79d3"}
    tool = {"type": "tool", "content": "It is sunny and 21 C in Paris.", "id": TOOL_ID}
    events = [
        metadata(),
        ("messages", [summary, {"langgraph_node": "summarise"}]),
        ("messages", [tool, {"langgraph_node": "tools"}]),
    ]
    body = {"assistant_id": "a", "stream_mode": "messages-tuple"}
    assert _rules(stream(sse(*events), request_body=body)) == []


def test_a_node_written_message_sent_as_a_chunk_is_still_not_a_model_answer() -> None:
    # Aegra 0.11 sends the summary a parent node wrote as an ``AIMessageChunk`` (langgraph dev:
    # ``ai``), with no model in its metadata: its id, not its type, tells it is no model's.
    summary = {"type": "AIMessageChunk", "content": "Summary: Hello! How can I help you?"}
    node_summary = {**summary, "id": "75b27307-43eb-4b3a-b63f-3dca984e20bc"}
    node_metadata = {"langgraph_node": "summarise", "ls_integration": "langchain_chat_model"}
    body = {"assistant_id": "a", "stream_mode": "messages-tuple"}
    events = [metadata(), ("messages", [node_summary, node_metadata])]
    assert _rules(stream(sse(*events), request_body=body)) == []
    # the same chunk from a model call's run, or with the model named, is judged
    model_summary = {**summary, "id": AI_ID}
    events = [metadata(), ("messages", [model_summary, node_metadata])]
    assert _rules(stream(sse(*events), request_body=body)) == [("messages.token-events", 1)]
    events = [metadata(), ("messages", [node_summary, _MODEL_METADATA])]
    assert _rules(stream(sse(*events), request_body=body)) == [("messages.token-events", 1)]


def test_a_short_answer_may_come_in_one_event() -> None:
    events = [metadata(), ("messages", [_chunk("Hi there!"), _MODEL_METADATA])]
    body = {"assistant_id": "a", "stream_mode": "messages-tuple"}
    assert _rules(stream(sse(*events), request_body=body)) == []


def test_a_stream_cut_short_is_only_said_to_be_broken() -> None:
    # The rest of the answer never came: that is the break, not merged tokens.
    events = [metadata(), ("messages", [_chunk("Hello! How can I help?"), _MODEL_METADATA])]
    body = {"assistant_id": "a", "stream_mode": "messages-tuple"}
    cut = stream(sse(*events) + b"event: mess", request_body=body, closed_by="broken")
    assert _rules(cut) == [("stream.intact", 2)]


def test_an_ai_message_a_node_wrote_is_not_the_models_output() -> None:
    # A graph without a model answers at once: in live mode its stream is not "held back".
    node_answer = {"type": "ai", "content": "Done.", "id": "0b6c3e22-5555-4000-8000-0000000000ff"}
    writes = [
        sse(metadata()),
        sse(("values", {"messages": []})),
        sse(("updates", {"node": {"messages": [node_answer]}})),
        sse(("values", {"messages": [node_answer]})),
    ]
    body = {"assistant_id": "a", "stream_mode": ["values", "updates"]}
    at_once = stream(writes, request_body=body, chunk_times_ms=[5.0] * 4, live_model=True)
    assert _rules(at_once) == []


def test_one_bunched_answer_among_spread_ones_is_a_pause_not_a_buffer() -> None:
    # A busy machine may pause the server or the client for a moment and bunch one answer;
    # a buffering server bunches them all.
    other_id = "lc_run--1f0b6c3e-9999-7000-8000-00000000ffff"
    second = [
        sse(("messages", [{**_chunk(token), "id": other_id}, _MODEL_METADATA])) for token in _TOKENS
    ]
    writes = _token_stream() + second
    bunched_first = [300.0] * 6 + [400.0 + 100 * n for n in range(6)]
    assert _rules(_paced(writes, times=bunched_first, delay_ms=100)) == []
    all_bunched = [300.0] * 6 + [1500.0] * 6
    assert _rules(_paced(writes, times=all_bunched, delay_ms=100)) == [("stream.incremental", 1)]
