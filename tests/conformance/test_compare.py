"""The replay comparison: every divergence per exchange, grouped by rule, capped; severity
from the client contract; the named relaxed modes."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from conformance import compare as compare_module
from conformance.compare import REPLAY_RULES, Relax, compare
from conformance.findings import Finding, Severity
from conformance.normalise import normalise
from conformance.transcript import (
    Chunk,
    Exchange,
    RecordedRequest,
    RecordedResponse,
    Transcript,
    load,
)

RECORDINGS = Path(__file__).parent / "rules" / "recordings"
SSE = [("content-type", "text/event-stream; charset=utf-8"), ("cache-control", "no-store")]
JSON = [("content-type", "application/json")]


def _sse(*events: tuple[str, Any] | tuple[str, Any, str]) -> bytes:
    out = b""
    for event in events:
        out += f"event: {event[0]}\r\ndata: {json.dumps(event[1])}\r\n".encode()
        if len(event) == 3:
            out += f"id: {event[2]}\r\n".encode()
        out += b"\r\n"
    return out


def _exchange(
    step: str,
    body: bytes,
    *,
    status: int = 200,
    headers: list[tuple[str, str]] | None = None,
    path: str = "/threads/t/runs/stream",
) -> Exchange:
    return Exchange(
        step=step,
        request=RecordedRequest(method="POST", path=path),
        response=RecordedResponse(
            status=status,
            headers=SSE if headers is None else headers,
            chunks=[Chunk(at_ms=0.0, data=body)] if body else [],
        ),
    )


def _compare(
    expected: list[Exchange],
    actual: list[Exchange],
    *,
    compare_values: bool = True,
    relax: frozenset[Relax] = frozenset(),
) -> list[Finding]:
    return compare(
        normalise(Transcript(scenario="s", exchanges=expected)),
        normalise(Transcript(scenario="s", exchanges=actual)),
        compare_values=compare_values,
        relax=relax,
    )


def _summary(findings: list[Finding]) -> list[tuple[str, str, int | None, str]]:
    return [(f.rule, f.step, f.event_index, f.pointer) for f in findings]


RUN_A = "1f0b6c3e-1111-7000-8000-00000000aaaa"
RUN_B = "1f0b6c3e-2222-7000-8000-00000000bbbb"
AI_ID = "lc_run--1f0b6c3e-3333-7000-8000-00000000cccc"


def _stream(run_id: str = RUN_A, *, content: str = "Hello", chunks: int = 2) -> bytes:
    partials = [
        ("messages/partial", [{"id": AI_ID, "content": content[: i + 1], "type": "ai"}])
        for i in range(chunks)
    ]
    return _sse(
        ("metadata", {"run_id": run_id, "attempt": 1}),
        ("messages/metadata", {AI_ID: {"metadata": {"node": "agent"}}}),
        *partials,
        ("values", {"messages": [{"id": AI_ID, "content": content}]}),
    )


# --- no divergence --------------------------------------------------------------------------------


def test_same_session_with_other_ids_and_spelling_compares_clean() -> None:
    expected = [_exchange("stream", _stream(RUN_A))]
    respelt = _stream(RUN_B).replace(b"\r\n", b"\n").replace(b'", "', b'","')
    actual = [_exchange("stream", b": heartbeat\n\n" + respelt)]
    assert _compare(expected, actual) == []


def test_an_end_event_is_left_to_its_rule() -> None:
    expected = [_exchange("stream", _stream())]
    actual = [_exchange("stream", _stream() + _sse(("end", None)))]
    assert _compare(expected, actual) == []
    assert _compare(actual, expected) == []


def test_equivalent_headers_compare_clean() -> None:
    expected = [_exchange("a", b"{}", headers=[("content-type", "application/json")])]
    actual = [
        _exchange(
            "a",
            b"{}",
            headers=[("Content-Type", "Application/JSON"), ("Server", "x"), ("date", "now")],
        )
    ]
    assert _compare(expected, actual) == []


def test_two_real_recordings_of_langgraph_dev_compare_clean() -> None:
    names = sorted(
        path.name
        for path in (RECORDINGS / "first").glob("*.json")
        if (RECORDINGS / "second" / path.name).exists()
    )
    assert len(names) >= 6
    for name in names:
        first = normalise(load(RECORDINGS / "first" / name))
        second = normalise(load(RECORDINGS / "second" / name))
        assert compare(first, second) == [], name
        assert compare(first, second, compare_values=False) == [], name


# --- one divergence of each kind ------------------------------------------------------------------


def test_missing_step() -> None:
    findings = _compare([_exchange("a", b"{}", headers=JSON)], [])
    assert _summary(findings) == [("replay.missing-step", "a", None, "")]


def test_status() -> None:
    findings = _compare(
        [_exchange("a", b"{}", headers=JSON)],
        [_exchange("a", b"{}", headers=JSON, status=404)],
    )
    assert _summary(findings) == [("replay.status", "a", None, "")]
    assert (findings[0].expected, findings[0].actual) == (200, 404)


@pytest.mark.parametrize(
    ("actual_headers", "message"),
    [
        ([("content-type", "text/plain")], "differs"),
        ([("content-type", "text/event-stream; charset=utf-8")], "cache-control is missing"),
        (
            [("content-type", "text/event-stream; charset=utf-8"), ("cache-control", "no-cache")],
            "differs",
        ),
    ],
)
def test_header(actual_headers: list[tuple[str, str]], message: str) -> None:
    findings = _compare(
        [_exchange("s", _stream())], [_exchange("s", _stream(), headers=actual_headers)]
    )
    assert {rule for rule, *_ in _summary(findings)} == {"replay.header"}
    assert any(message in finding.message for finding in findings)


def test_location_headers_compared_as_identities() -> None:
    def location(run: str, thread: str) -> list[tuple[str, str]]:
        return [*SSE, ("location", f"/threads/{thread}/runs/{run}/stream")]

    expected = [_exchange("s", _stream(RUN_A), headers=location(RUN_A, RUN_B))]
    same = [_exchange("s", _stream(RUN_B), headers=location(RUN_B, RUN_A))]
    assert _compare(expected, same) == []
    # The Location names a run other than the one the stream's metadata names.
    swapped = [_exchange("s", _stream(RUN_B), headers=location(RUN_A, RUN_B))]
    findings = _compare(expected, swapped)
    assert _summary(findings) == [("replay.value", "s", 0, "/run_id")]


def test_event_order() -> None:
    actual = _sse(("metadata", {"run_id": RUN_A, "attempt": 1}), ("values", {"messages": []}))
    findings = _compare([_exchange("s", _stream())], [_exchange("s", actual)])
    assert _summary(findings) == [("replay.event-order", "s", 1, "")]
    assert findings[0].expected[:2] == ["metadata", "messages/metadata"]
    assert "messages/metadata" in findings[0].message


def test_event_order_when_the_stream_is_short() -> None:
    full = _stream()
    cut = full[: full.index(b"event: values")]
    findings = _compare([_exchange("s", full)], [_exchange("s", cut)])
    assert _summary(findings) == [("replay.event-order", "s", 4, "")]
    assert "ends" in findings[0].message


def test_streams_the_client_cut_compare_only_what_both_saw() -> None:
    full = _stream()
    expected = _exchange("s", full[: full.index(b"event: messages/partial")])
    expected = dataclasses.replace(
        expected, response=dataclasses.replace(expected.response, closed_by="client")
    )
    actual = _exchange("s", full)
    assert _compare([expected], [actual]) == []
    other = _exchange("s", full.replace(b"messages/metadata", b"values"))
    assert _summary(_compare([expected], [other])) == [("replay.event-order", "s", 1, "")]


def test_shape_missing_key_and_type() -> None:
    expected = _sse(("values", {"messages": [{"id": "x", "content": "a"}]}))
    missing = _sse(("values", {"messages": [{"id": "x"}]}))
    wrong_type = _sse(("values", {"messages": [{"id": "x", "content": 3}]}))
    assert _summary(_compare([_exchange("s", expected)], [_exchange("s", missing)])) == [
        ("replay.shape", "s", 0, "/messages/0/content")
    ]
    findings = _compare([_exchange("s", expected)], [_exchange("s", wrong_type)])
    assert _summary(findings) == [("replay.shape", "s", 0, "/messages/0/content")]
    assert "number where langgraph dev has string" in findings[0].message


def test_extra_key_is_a_warning_and_a_later_must_is_still_found() -> None:
    expected = _sse(("values", {"a": 1}), ("values", {"b": 1}))
    actual = _sse(("values", {"a": 1, "extra": True}), ("values", {"c": 1}))
    findings = _compare([_exchange("s", expected)], [_exchange("s", actual)])
    assert [(f.rule, f.severity, f.event_index, f.pointer) for f in findings] == [
        ("replay.shape", Severity.SHOULD, 0, "/extra"),
        ("replay.shape", Severity.MUST, 1, "/b"),
        ("replay.shape", Severity.SHOULD, 1, "/c"),
    ]


def test_event_id_presence_is_shape() -> None:
    expected = _sse(("values", {}, "1-0"))
    findings = _compare([_exchange("s", expected)], [_exchange("s", _sse(("values", {})))])
    assert _summary(findings) == [("replay.shape", "s", 0, "")]
    assert "no id" in findings[0].message


def test_value() -> None:
    findings = _compare(
        [_exchange("s", _stream(content="Hello"))], [_exchange("s", _stream(content="Hullo"))]
    )
    assert _summary(findings)[0] == ("replay.value", "s", 3, "/0/content")
    assert {rule for rule, *_ in _summary(findings)} == {"replay.value"}
    assert (findings[0].expected, findings[0].actual) == ("He", "Hu")


def test_identity_mismatch_is_a_value_divergence() -> None:
    # The target reuses one id where langgraph dev has two distinct ones.
    expected = _sse(("values", {"a": RUN_A, "b": RUN_B}))
    actual = _sse(("values", {"a": RUN_A, "b": RUN_A}))
    findings = _compare([_exchange("s", expected)], [_exchange("s", actual)])
    assert _summary(findings) == [("replay.value", "s", 0, "/b")]


def test_null_id_matches_an_id_only_where_langgraph_dev_sends_null() -> None:
    def chunk(call_id: str | None) -> bytes:
        return _sse(("messages", [{"tool_call_chunks": [{"id": call_id, "args": "{"}]}, {}]))

    # fixtures/stream_messages_tuple_tool_call.json: continuation chunks carry no id.
    assert _compare([_exchange("s", chunk(None))], [_exchange("s", chunk(RUN_B))]) == []
    assert _compare([_exchange("s", chunk(RUN_B))], [_exchange("s", chunk(None))]) == []
    # Anywhere else a null id is a finding: a message's, a run's.
    expected = _sse(("events", {"data": {"output": {"id": RUN_A, "content": "sunny"}}}))
    actual = _sse(("events", {"data": {"output": {"id": None, "content": "sunny"}}}))
    findings = _compare([_exchange("s", expected)], [_exchange("s", actual)])
    assert _summary(findings) == [("replay.shape", "s", 0, "/data/output/id")]
    assert findings[0].severity is Severity.MUST
    metadata = [_exchange("s", _sse(("metadata", {"run_id": None})))]
    assert _summary(_compare([_exchange("s", _sse(("metadata", {"run_id": RUN_A})))], metadata))


def test_json_body_shape_then_value() -> None:
    expected = [_exchange("r", b'{"status": "success", "n": [1]}', headers=JSON, path="/r")]
    other_value = [_exchange("r", b'{"status": "error", "n": [1]}', headers=JSON, path="/r")]
    other_length = [_exchange("r", b'{"status": "error", "n": [1, 2]}', headers=JSON, path="/r")]
    assert _summary(_compare(expected, other_value)) == [("replay.value", "r", None, "/status")]
    # every divergence of the exchange, not only the first
    assert _summary(_compare(expected, other_length)) == [
        ("replay.shape", "r", None, "/n"),
        ("replay.value", "r", None, "/status"),
    ]
    # a status is compared in every mode; a list's length is not when relaxed
    assert _summary(_compare(expected, other_length, compare_values=False)) == [
        ("replay.value", "r", None, "/status")
    ]


def test_error_detail_wording_is_free_text_but_its_type_is_not() -> None:
    expected = [
        _exchange(
            "e", b'{"detail": "Failed validating anyOf"}', status=422, headers=JSON, path="/r"
        )
    ]
    reworded = [
        _exchange(
            "e", b'{"detail": "stream_mode: nonsense is not a mode"}', status=422, headers=JSON
        )
    ]
    not_text = [_exchange("e", b'{"detail": ["stream_mode"]}', status=422, headers=JSON, path="/r")]
    assert _compare(expected, reworded) == []
    assert _summary(_compare(expected, not_text)) == [("replay.shape", "e", None, "/detail")]
    # Outside an error body the same key is an ordinary value.
    success = [_exchange("e", b'{"detail": "a"}', headers=JSON, path="/r")]
    assert _summary(
        _compare(success, [_exchange("e", b'{"detail": "b"}', headers=JSON, path="/r")])
    ) == [("replay.value", "e", None, "/detail")]


def test_empty_body_versus_a_body() -> None:
    expected = [_exchange("j", b"", path="/threads/t/runs/r/stream")]
    actual = [_exchange("j", _sse(("values", {})), path="/threads/t/runs/r/stream")]
    assert _summary(_compare(expected, actual)) == [("replay.event-order", "j", 0, "")]


# --- relaxed comparison (live LLM) -------------------------------------------------------------------


def test_relaxed_collapses_chunk_runs_and_skips_values() -> None:
    expected = [_exchange("s", _stream(content="Hello", chunks=2))]
    actual = [_exchange("s", _stream(RUN_B, content="Good morning", chunks=7))]
    assert _summary(_compare(expected, actual)) == [("replay.event-order", "s", 4, "")]
    assert _compare(expected, actual, compare_values=False) == []


def test_relaxed_run_stream_judges_kinds_first_event_and_each_event_shape() -> None:
    expected = [_exchange("s", _stream())]
    no_metadata = _stream().replace(b"event: messages/metadata", b"event: values")
    findings = _compare(expected, [_exchange("s", no_metadata)], compare_values=False)
    assert ("replay.event-order", "s", None, "") in _summary(findings)
    assert any("no 'messages/metadata' event" in finding.message for finding in findings)
    assert all("relaxed" in finding.message for finding in findings)
    reshaped = _sse(
        ("metadata", {"run_id": RUN_A, "attempt": 1}),
        ("messages/metadata", {AI_ID: {"metadata": {"node": "agent"}}}),
        ("messages/partial", [{"id": AI_ID, "text": "H", "type": "ai"}]),
        ("values", {"messages": [{"id": AI_ID, "content": "H", "type": "ai"}]}),
    )
    findings = _compare(expected, [_exchange("s", reshaped)], compare_values=False)
    assert ("replay.shape", "s", 2, "/0/content") in _summary(findings)
    assert all(f.severity is Severity.SHOULD or f.pointer == "/0/content" for f in findings)
    # the first event must still be the recorded one
    late = _stream().replace(b"event: metadata", b"event: values", 1)
    findings = _compare(expected, [_exchange("s", late)], compare_values=False)
    assert any("starts with 'values'" in finding.message for finding in findings)


def test_relaxed_run_stream_accepts_another_path_through_the_graph() -> None:
    # A live model or a mapped graph answers in one turn where langgraph dev called a tool:
    # fewer events, the same kinds, the same envelope.
    expected = [_exchange("s", _stream(content="Hello", chunks=2))]
    actual = [_exchange("s", _stream(RUN_B, content="Good morning", chunks=7))]
    assert _compare(expected, actual, relax=frozenset({Relax.MODEL})) == []
    assert _compare(expected, actual, relax=frozenset({Relax.GRAPH})) == []
    # an error where langgraph dev has none is never relaxed
    failed = _stream(RUN_B) + _sse(("error", {"error": "E", "message": "m"}))
    findings = _compare(expected, [_exchange("s", failed)], relax=frozenset(Relax))
    assert any("event 'error'" in finding.message for finding in findings)


def test_relaxed_run_stream_accepts_updates_and_tool_results_of_another_path() -> None:
    # langgraph dev answered "hi" in one model turn; a live model called a tool first: updates
    # of the tools node and the ToolMessage's messages/complete are the model's path.
    def updates(*nodes: tuple[str, Any]) -> bytes:
        return _sse(("metadata", {"run_id": RUN_A, "attempt": 1}), *nodes)

    model = ("updates", {"model": {"messages": [{"type": "ai", "content": "Hello"}]}})
    tools = ("updates", {"tools": {"messages": [{"type": "tool", "content": "sunny"}]}})
    complete = ("messages/complete", [{"type": "tool", "content": "sunny"}])
    expected = [_exchange("s", updates(model))]
    actual = [_exchange("s", updates(model, tools, complete, model))]
    assert _compare(expected, actual, relax=frozenset({Relax.MODEL})) == []
    # exactly compared, the other path is a divergence; and relaxed, an update that is not
    # an object, or a recorded node's update with another shape, still is
    assert _compare(expected, actual)
    broken = [_exchange("s", updates(model, ("updates", ["tools"])))]
    assert _compare(expected, broken, relax=frozenset({Relax.MODEL}))
    reshaped = [_exchange("s", updates(("updates", {"model": {"messages": "Hello"}})))]
    assert _compare(expected, reshaped, relax=frozenset({Relax.MODEL}))


def test_relaxed_ignores_what_is_inside_model_dependent_keys() -> None:
    expected = _sse(("values", {"response_metadata": {"finish_reason": "stop", "model": "a"}}))
    actual = _sse(("values", {"response_metadata": {"stop_reason": None}}))
    exchanges = ([_exchange("s", expected)], [_exchange("s", actual)])
    assert _compare(*exchanges, compare_values=False) == []
    assert _summary(_compare(*exchanges))[0] == (
        "replay.shape",
        "s",
        0,
        "/response_metadata/finish_reason",
    )


def test_live_model_usage_metadata_object_or_null() -> None:
    def message(usage: Any) -> bytes:
        return _sse(
            ("values", {"messages": [{"type": "ai", "content": "", "usage_metadata": usage}]})
        )

    usage = {"input_tokens": 1, "output_tokens": 2, "total_tokens": 3}
    exchanges = ([_exchange("s", message(None))], [_exchange("s", message(usage))])
    assert _compare(*exchanges, relax=frozenset({Relax.MODEL})) == []
    assert _summary(_compare(*exchanges, relax=frozenset({Relax.GRAPH})))


def test_every_rule_cited_is_documented() -> None:
    expected = [_exchange("a", b"{}", headers=JSON), _exchange("b", _stream())]
    actual = [_exchange("b", _sse(("values", {})))]
    for finding in _compare(expected, actual):
        assert finding.rule in REPLAY_RULES


def test_never_raises_on_garbage() -> None:
    garbage = [
        _exchange("s", b"\xff\x00data: {\r\n\r\n", headers=[("content-type", "text/event-stream")])
    ]
    other = [_exchange("s", b"event: x\ndata: [1,\n\n")]
    findings = _compare(garbage, other) + _compare(other, garbage)
    assert all(f.rule in REPLAY_RULES for f in findings)


# --- contract severities, every divergence, ids -------------------------------------------------

THREAD_A = "1f0b6c3e-4444-7000-8000-00000000dddd"


def _json(step: str, body: Any, *, path: str = "/threads", method: str = "POST", **extra: Any):
    exchange = _exchange(step, json.dumps(body).encode(), headers=JSON, path=path, **extra)
    return dataclasses.replace(
        exchange, request=dataclasses.replace(exchange.request, method=method)
    )


def test_event_stream_without_charset_is_not_a_must() -> None:
    bare = [("content-type", "text/event-stream"), ("cache-control", "no-store")]
    findings = _compare([_exchange("s", _stream())], [_exchange("s", _stream(), headers=bare)])
    assert [(f.rule, f.severity) for f in findings] == [("replay.header", Severity.SHOULD)]
    assert "clients read only the media type" in findings[0].message


@pytest.mark.parametrize(
    ("thread", "run"),
    [
        ("4a1c0f5e2b7d4e8f9a0b1c2d3e4f5a6b", "5b2d1e6f3c8e4f9a0b1c2d3e4f5a6b7c"),  # dashless
        ("01HZX3J8Q4M5N6P7R8S9T0V1W2", "01HZX3J8Q4M5N6P7R8S9T0V1W3"),  # ULID
        ("thr_8f3a92c1d4e5", "run_77b2c9e0f1a3"),  # a format of the server's own
    ],
)
def test_ids_are_opaque_when_used_consistently(thread: str, run: str) -> None:
    def session(thread_id: str, run_id: str) -> list[Exchange]:
        location = f"/threads/{thread_id}/runs/{run_id}/stream"
        return [
            _json("create", {"thread_id": thread_id}),
            _exchange(
                "stream",
                _stream(run_id),
                headers=[*SSE, ("content-location", location)],
                path=f"/threads/{thread_id}/runs/stream",
            ),
        ]

    expected = session(THREAD_A, RUN_A)
    assert _compare(expected, session(thread, run)) == []
    # the Location names another run than the stream's metadata: a finding, with its cause
    swapped = session(thread, run)
    wrong = dataclasses.replace(
        swapped[1],
        response=dataclasses.replace(
            swapped[1].response,
            headers=[*SSE, ("content-location", f"/threads/{thread}/runs/{thread}/stream")],
        ),
    )
    findings = _compare(expected, [swapped[0], wrong])
    assert findings and findings[0].rule == "replay.header"
    assert "not the one the protocol returned" in findings[0].message


def test_duplicate_protocol_header_is_a_finding() -> None:
    twice = [*SSE, ("content-type", "text/event-stream")]
    findings = _compare([_exchange("s", _stream())], [_exchange("s", _stream(), headers=twice)])
    assert any("sent 2 times" in f.message and f.severity is Severity.MUST for f in findings)


def test_unexpected_status_shows_method_path_and_body() -> None:
    findings = _compare(
        [_json("get", {"thread_id": THREAD_A}, path="/threads/t", method="GET")],
        [_json("get", {"detail": "boom"}, path="/threads/t", method="GET", status=500)],
    )
    assert _summary(findings) == [("replay.status", "get", None, "")]
    assert "GET /threads/t: status 500 where langgraph dev answers 200" in findings[0].message
    assert '{"detail":"boom"}' in findings[0].message


def test_a_header_difference_hides_no_body_difference_and_findings_are_capped() -> None:
    expected = {f"k{i}": i for i in range(9)}
    actual = {f"k{i}": -i - 1 for i in range(9)}
    findings = _compare(
        [_json("r", expected, path="/store/items/search")],
        [
            _exchange(
                "r",
                json.dumps(actual).encode(),
                headers=[("content-type", "text/plain")],
                path="/store/items/search",
            )
        ],
    )
    rules = [f.rule for f in findings]
    assert rules.count("replay.header") == 1
    assert rules.count("replay.value") == compare_module.MAX_PER_RULE + 1
    assert "and 4 more divergence(s)" in findings[-1].message


def test_severity_follows_the_client_contract() -> None:
    run = {
        "run_id": RUN_A,
        "thread_id": THREAD_A,
        "assistant_id": "a",
        "created_at": "2025-01-01T00:00:00Z",
        "updated_at": "2025-01-01T00:00:00Z",
        "status": "success",
        "metadata": {},
        "multitask_strategy": "reject",
        "kwargs": {"checkpoint_during": True},
    }
    path = f"/threads/{THREAD_A}/runs/{RUN_A}"
    findings = _compare(
        [_json("get", run, path=path, method="GET")],
        [_json("get", {**run, "kwargs": {}, "status": "error"}, path=path, method="GET")],
    )
    assert [(f.rule, f.pointer, f.severity) for f in findings] == [
        ("replay.shape", "/kwargs/checkpoint_during", Severity.SHOULD),
        ("replay.value", "/status", Severity.MUST),
    ]
    without_run_id = {key: value for key, value in run.items() if key != "run_id"}
    findings = _compare(
        [_json("get", run, path=path, method="GET")],
        [_json("get", without_run_id, path=path, method="GET")],
    )
    assert [(f.pointer, f.severity) for f in findings] == [("/run_id", Severity.MUST)]


def test_an_id_key_is_matched_where_it_stands_not_by_number() -> None:
    # The target leaves out one id early on: later ids get other numbers, and an object keyed
    # by an id must still be paired with the recorded one.
    task = "1f0b6c3e-5555-7000-8000-00000000eeee"
    expected = [
        _json("a", {"id": RUN_A, "other": RUN_B}),
        _json("b", {"interrupts": {task: [{"id": "x", "value": 1}]}}),
    ]
    actual = [
        _json("a", {"id": RUN_A}),
        _json("b", {"interrupts": {task: [{"id": "x", "value": 1}]}}),
    ]
    findings = _compare(expected, actual)
    assert [(f.step, f.pointer) for f in findings] == [("a", "/other")]


def test_server_chosen_defaults_and_versions_are_not_values() -> None:
    recorded = {"assistant_id": RUN_A, "name": "weather_agent", "description": None}
    theirs = {"assistant_id": RUN_B, "name": "Untitled", "description": None}
    path = "/assistants"
    assert _compare([_json("c", recorded, path=path)], [_json("c", theirs, path=path)]) == []
    # when the client chose the name, it is a value
    chosen = [_json("c", recorded, path=path)]
    chosen[0] = dataclasses.replace(
        chosen[0], request=dataclasses.replace(chosen[0].request, body={"name": "weather_agent"})
    )
    findings = _compare(chosen, [_json("c", theirs, path=path)])
    assert [f.pointer for f in findings] == ["/name"]
    versions = ({"metadata": {"api": "0.16.7"}}, {"metadata": {"api": "0.6.0"}})
    assert _compare([_json("v", versions[0])], [_json("v", versions[1])]) == []


def test_an_end_event_payload_must_agree_with_how_the_run_ended() -> None:
    failed = _sse(("metadata", {"run_id": RUN_A}), ("error", {"error": "E", "message": "m"}))
    lying = failed + _sse(("end", {"status": "success"}))
    findings = _compare([_exchange("s", failed)], [_exchange("s", lying)])
    assert _summary(findings) == [("replay.end-event", "s", 2, "/status")]
    assert findings[0].severity is Severity.MUST
    honest = failed + _sse(("end", {"status": "error"}))
    assert _compare([_exchange("s", failed)], [_exchange("s", honest)]) == []
    ok = _stream() + _sse(("end", {"status": "error"}))
    assert _summary(_compare([_exchange("s", _stream())], [_exchange("s", ok)])) == [
        ("replay.end-event", "s", 5, "/status")
    ]


@pytest.mark.parametrize("mode", [Relax.GRAPH, Relax.MODEL])
def test_relaxed_modes_still_compare_statuses_lifecycle_and_error_shapes(mode: Relax) -> None:
    relax = frozenset({mode})
    path = f"/threads/{THREAD_A}/runs/{RUN_A}"
    run = {"run_id": RUN_A, "status": "error", "thread_id": THREAD_A}
    lying = {**run, "status": "success"}
    findings = _compare(
        [_json("get", run, path=path, method="GET")],
        [_json("get", lying, path=path, method="GET")],
        relax=relax,
    )
    assert [(f.pointer, f.severity) for f in findings] == [("/status", Severity.MUST)]
    thread = {"thread_id": THREAD_A, "status": "busy", "values": {"messages": []}}
    idle = {**thread, "status": "idle", "values": {"messages": [{"type": "ai", "content": ""}]}}
    findings = _compare([_json("t", thread)], [_json("t", idle)], relax=relax)
    assert [f.pointer for f in findings] == ["/status"]
    # a run that ends in error must still send an error event of the recorded shape
    failed = _sse(("metadata", {"run_id": RUN_A}), ("error", {"error": "E", "message": "m"}))
    reshaped = _sse(("metadata", {"run_id": RUN_B}), ("error", {"detail": "m"}))
    findings = _compare([_exchange("s", failed)], [_exchange("s", reshaped)], relax=relax)
    assert ("replay.shape", "s", 1, "/error") in _summary(findings)
    silent = _sse(("metadata", {"run_id": RUN_B}), ("values", {"messages": []}))
    findings = _compare([_exchange("s", failed)], [_exchange("s", silent)], relax=relax)
    assert any("no 'error' event" in f.message and f.is_failure for f in findings)


# --- relaxations that third-party servers showed were needed, each with its breakage caught ---


def _item(key: str, city: str) -> dict[str, Any]:
    return {"namespace": ["conformance", THREAD_A], "key": key, "value": {"city": city}}


def test_store_search_items_are_paired_by_key_not_by_position() -> None:
    path = "/store/items/search"
    recorded = {"items": [_item("weather", "Paris"), _item("other", "Lyon")]}
    reversed_order = {"items": [_item("other", "Lyon"), _item("weather", "Paris")]}
    findings = _compare([_json("s", recorded, path=path)], [_json("s", reversed_order, path=path)])
    assert [(f.rule, f.pointer, f.severity) for f in findings] == [
        ("replay.value", "/items", Severity.SHOULD)
    ]
    # a wrong value, a lost item, another key: still MUST findings
    wrong = {"items": [_item("other", "Lyon"), _item("weather", "Nice")]}
    findings = _compare([_json("s", recorded, path=path)], [_json("s", wrong, path=path)])
    assert ("/items/1/value/city", Severity.MUST) in [(f.pointer, f.severity) for f in findings]
    lost = {"items": [_item("weather", "Paris")]}
    findings = _compare([_json("s", recorded, path=path)], [_json("s", lost, path=path)])
    assert [(f.pointer, f.severity) for f in findings] == [("/items", Severity.MUST)]
    renamed = {"items": [_item("weather", "Paris"), _item("another", "Lyon")]}
    findings = _compare([_json("s", recorded, path=path)], [_json("s", renamed, path=path)])
    assert ("/items/1/key", Severity.MUST) in [(f.pointer, f.severity) for f in findings]


def test_store_search_with_a_query_keeps_its_order() -> None:
    path = "/store/items/search"
    recorded = {"items": [_item("weather", "Paris"), _item("other", "Lyon")]}
    reversed_order = {"items": [_item("other", "Lyon"), _item("weather", "Paris")]}
    expected = _json("s", recorded, path=path)
    expected = dataclasses.replace(
        expected, request=dataclasses.replace(expected.request, body={"query": "sunny"})
    )
    findings = _compare([expected], [_json("s", reversed_order, path=path)])
    assert {(f.pointer, f.severity) for f in findings} >= {("/items/0/key", Severity.MUST)}


def test_a_run_error_text_is_the_servers_but_its_shape_is_compared() -> None:
    recorded = _sse(
        ("metadata", {"run_id": RUN_A}),
        ("error", {"error": "OpenAIAPIError", "message": "An internal error occurred"}),
    )
    worded = _sse(
        ("metadata", {"run_id": RUN_A}),
        ("error", {"error": "Error", "message": "Error code: 500 - fault"}),
    )
    assert _compare([_exchange("s", recorded)], [_exchange("s", worded)]) == []
    no_message = _sse(("metadata", {"run_id": RUN_A}), ("error", {"error": "Error"}))
    findings = _compare([_exchange("s", recorded)], [_exchange("s", no_message)])
    assert [(f.pointer, f.severity) for f in findings] == [("/message", Severity.MUST)]
    no_error = _sse(("metadata", {"run_id": RUN_A}), ("values", {"messages": []}))
    findings = _compare([_exchange("s", recorded)], [_exchange("s", no_error)])
    assert findings and findings[0].rule == "replay.event-order"
    # the output of a failed run: the same two texts
    path = "/threads/t/runs/wait"
    output = {"__error__": {"error": "OpenAIAPIError", "message": "An internal error occurred"}}
    theirs = {"__error__": {"error": "Error", "message": "provider said no"}}
    assert _compare([_json("w", output, path=path)], [_json("w", theirs, path=path)]) == []
    findings = _compare([_json("w", output, path=path)], [_json("w", {"messages": []}, path=path)])
    assert ("/__error__", Severity.MUST) in [(f.pointer, f.severity) for f in findings]


def test_a_default_description_may_be_null_or_a_string() -> None:
    recorded = {"assistant_id": RUN_A, "name": "weather_agent", "description": None}
    path = "/assistants"
    described = {**recorded, "description": "Assistant for weather_agent"}
    assert _compare([_json("c", recorded, path=path)], [_json("c", described, path=path)]) == []
    number = {**recorded, "description": 3}
    findings = _compare([_json("c", recorded, path=path)], [_json("c", number, path=path)])
    assert [(f.pointer, f.severity) for f in findings] == [("/description", Severity.MUST)]
    chosen = _json("c", recorded, path=path)
    chosen = dataclasses.replace(
        chosen, request=dataclasses.replace(chosen.request, body={"description": None})
    )
    findings = _compare([chosen], [_json("c", described, path=path)])
    assert [f.pointer for f in findings] == ["/description"]


def test_a_message_id_before_langgraph_dev_names_one_is_a_should_and_null_stays_a_must() -> None:
    tool = {"type": "tool", "content": "sunny", "tool_call_id": "call_1", "id": None}
    recorded = _sse(("metadata", {"run_id": RUN_A}), ("updates", {"tools": {"messages": [tool]}}))
    named = {**tool, "id": "1f0b6c3e-6666-7000-8000-00000000ffff"}
    early = _sse(("metadata", {"run_id": RUN_A}), ("updates", {"tools": {"messages": [named]}}))
    findings = _compare([_exchange("s", recorded)], [_exchange("s", early)])
    assert [(f.pointer, f.severity) for f in findings] == [
        ("/tools/messages/0/id", Severity.SHOULD)
    ]
    # the other way round (an id langgraph dev sends, null from the target) is a MUST
    findings = _compare([_exchange("s", early)], [_exchange("s", recorded)])
    assert [(f.pointer, f.severity) for f in findings] == [("/tools/messages/0/id", Severity.MUST)]


def test_a_stateless_run_location_with_a_thread_in_front_is_a_should() -> None:
    def answer(location: str) -> Exchange:
        return _exchange(
            "s",
            _stream(RUN_A),
            headers=[*SSE, ("location", location)],
            path="/runs/stream",
        )

    recorded = answer(f"/runs/{RUN_A}/stream")
    threaded = answer(f"/threads/{THREAD_A}/runs/{RUN_A}/stream")
    findings = _compare([recorded], [threaded])
    assert [(f.rule, f.severity) for f in findings] == [("replay.header", Severity.SHOULD)]
    assert "names a thread" in findings[0].message
    # another run's id than the stream's own (bound by the header, read first: the body's
    # run id then differs), or another path after the thread: MUST
    other_run = answer(f"/threads/{THREAD_A}/runs/{RUN_B}/stream")
    findings = _compare([recorded], [other_run])
    assert Severity.MUST in [f.severity for f in findings]
    other_path = answer(f"/threads/{THREAD_A}/runs/{RUN_A}")
    findings = _compare([recorded], [other_path])
    assert [(f.rule, f.severity) for f in findings] == [("replay.header", Severity.MUST)]


def test_server_written_keys_of_checkpoints_and_message_metadata_are_shoulds() -> None:
    config = {"configurable": {"thread_id": THREAD_A, "checkpoint_id": RUN_B, "user_id": ""}}
    checkpoint = {"config": config, "metadata": {"source": "loop", "step": 1}, "values": {}}
    theirs = {
        "config": {"configurable": {"thread_id": THREAD_A, "checkpoint_id": RUN_B}},
        "metadata": {"step": 1},
        "values": {},
    }
    recorded = _sse(("metadata", {"run_id": RUN_A}), ("checkpoints", checkpoint))
    target = _sse(("metadata", {"run_id": RUN_A}), ("checkpoints", theirs))
    findings = _compare([_exchange("s", recorded)], [_exchange("s", target)])
    assert {(f.pointer, f.severity) for f in findings} == {
        ("/config/configurable/user_id", Severity.SHOULD),
        ("/metadata/source", Severity.SHOULD),
    }
    # what a client reads stays a MUST: the checkpoint id in the config, the step's value
    wrong = {
        "config": {"configurable": {"thread_id": THREAD_A}},
        "metadata": {"source": "loop", "step": 2},
        "values": {},
    }
    target = _sse(("metadata", {"run_id": RUN_A}), ("checkpoints", wrong))
    findings = _compare([_exchange("s", recorded)], [_exchange("s", target)])
    assert {
        ("/config/configurable/checkpoint_id", Severity.MUST),
        ("/metadata/step", Severity.MUST),
    } <= {(f.pointer, f.severity) for f in findings}
    # the run metadata of a message chunk: the API server's keys are SHOULDs, langgraph's MUST
    chunk = {"type": "AIMessageChunk", "content": "hi", "id": AI_ID}
    meta = {"langgraph_node": "agent", "assistant_id": RUN_B, "graph_id": "agent"}
    recorded = _sse(("metadata", {"run_id": RUN_A}), ("messages", [chunk, meta]))
    target = _sse(("metadata", {"run_id": RUN_A}), ("messages", [chunk, {}]))
    findings = _compare([_exchange("s", recorded)], [_exchange("s", target)])
    assert {(f.pointer, f.severity) for f in findings} == {
        ("/1/langgraph_node", Severity.MUST),
        ("/1/assistant_id", Severity.SHOULD),
        ("/1/graph_id", Severity.SHOULD),
    }


def test_store_items_whose_namespace_differs_are_still_paired_by_key() -> None:
    path = "/store/items/search"
    recorded = {"items": [_item("weather", "Paris"), _item("other", "Lyon")]}
    mangled = [
        {**item, "namespace": ["conformance", *THREAD_A.split("-")]}
        for item in (_item("other", "Lyon"), _item("weather", "Paris"))
    ]
    findings = _compare(
        [_json("s", recorded, path=path)], [_json("s", {"items": mangled}, path=path)]
    )
    # the namespace is named (twice, MUST); the order alone is a SHOULD, no value differs
    assert [(f.rule, f.pointer, f.severity) for f in findings] == [
        ("replay.value", "/items", Severity.SHOULD),
        ("replay.shape", "/items/1/namespace", Severity.MUST),
        ("replay.shape", "/items/0/namespace", Severity.MUST),
    ]


def test_a_null_default_name_stays_a_must() -> None:
    recorded = {"assistant_id": RUN_A, "name": "Untitled", "description": None}
    path = "/assistants"
    nameless = {**recorded, "name": None}
    findings = _compare([_json("c", recorded, path=path)], [_json("c", nameless, path=path)])
    assert [(f.pointer, f.severity) for f in findings] == [("/name", Severity.MUST)]


def test_the_run_that_wrote_a_state_stays_a_must() -> None:
    path = f"/threads/{THREAD_A}/state"
    state = {"values": {}, "metadata": {"run_id": RUN_A, "step": 3, "source": "loop"}}
    other = {"values": {}, "metadata": {"run_id": RUN_B, "step": 3}}
    # the second run, then the state: langgraph dev's is the second run's, the target's the
    # first run's
    run = _json("r", {"run_id": RUN_A}, path=f"/threads/{THREAD_A}/runs")
    findings = _compare(
        [run, _json("s", state, path=path, method="GET")],
        [run, _json("s", other, path=path, method="GET")],
    )
    assert ("/metadata/run_id", Severity.MUST) in [(f.pointer, f.severity) for f in findings]
    assert ("/metadata/source", Severity.SHOULD) in [(f.pointer, f.severity) for f in findings]


def test_a_stream_whose_run_is_deleted_may_end_with_an_error_or_not() -> None:
    values = ("values", {"messages": []})
    deleted = ("error", {"error": "HTTPException", "message": "404: Run not found"})
    plain = _sse(("metadata", {"run_id": RUN_A}), values)
    errored = _sse(("metadata", {"run_id": RUN_A}), values, deleted)

    def judged(expected: bytes, actual: bytes, deleted_in: frozenset[str]) -> list[Finding]:
        return compare(
            normalise(Transcript(scenario="s", exchanges=[_exchange("stream", expected)])),
            normalise(Transcript(scenario="s", exchanges=[_exchange("stream", actual)])),
            runs_deleted_in=deleted_in,
        )

    marked = frozenset({"stream"})
    # langgraph dev's own race (cancel_rollback): either ending, either way round
    assert judged(plain, errored, marked) == []
    assert judged(errored, plain, marked) == []
    # a stream the scenario does not mark: the extra error is a finding
    assert [f.rule for f in judged(plain, errored, frozenset())] == ["replay.event-order"]
    # an error followed by more events, or two errors, is not the race
    early = _sse(("metadata", {"run_id": RUN_A}), deleted, values)
    assert [f.rule for f in judged(plain, early, marked)] == ["replay.event-order"]
    twice = _sse(("metadata", {"run_id": RUN_A}), values, deleted, deleted)
    assert [f.rule for f in judged(plain, twice, marked)] == ["replay.event-order"]
