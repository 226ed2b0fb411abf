"""Scripts rendered as OpenAI wire data: chunk shapes, completions, fault plans."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from conformance.fake_llm.chunks import (
    CREATED,
    CUT_AFTER_CONTENT_CHUNKS,
    DONE_FRAME,
    completion,
    completion_plan,
    error_body,
    fault_status,
    models_list,
    sse_frame,
    stream_chunks,
    stream_plan,
)
from conformance.fake_llm.scripts import Fault, Script, select_script

WEATHER_TOOL = {"type": "function", "function": {"name": "get_weather"}}


def _script(text: str) -> Script:
    return select_script({"messages": [{"role": "user", "content": text}], "tools": [WEATHER_TOOL]})


def _deltas(chunks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [chunk["choices"][0]["delta"] for chunk in chunks if chunk["choices"]]


def test_text_stream_shape() -> None:
    script = _script("hi")
    chunks = stream_chunks(script, model="my-model", include_usage=False)
    for chunk in chunks:
        assert chunk["id"] == script.completion_id
        assert chunk["object"] == "chat.completion.chunk"
        assert chunk["created"] == CREATED
        assert chunk["model"] == "my-model"
        assert "usage" not in chunk
        [choice] = chunk["choices"]
        assert choice["index"] == 0
    deltas = _deltas(chunks)
    assert deltas[0] == {"role": "assistant", "content": ""}
    assert [delta["content"] for delta in deltas[1:-1]] == list(script.text_tokens)
    assert deltas[-1] == {}
    assert [chunk["choices"][0]["finish_reason"] for chunk in chunks] == [None] * (
        len(chunks) - 1
    ) + ["stop"]


def test_usage_chunk_only_when_asked() -> None:
    script = _script("hi")
    chunks = stream_chunks(script, model="fake", include_usage=True)
    *body, last = chunks
    assert last["choices"] == []
    assert last["usage"] == {
        "prompt_tokens": script.prompt_tokens,
        "completion_tokens": len(script.text_tokens),
        "total_tokens": script.prompt_tokens + len(script.text_tokens),
    }
    assert all(chunk["usage"] is None for chunk in body)
    assert body[-1]["choices"][0]["finish_reason"] == "stop"


def test_tool_call_stream_shape() -> None:
    script = _script("weather in Paris and Rome")
    deltas = _deltas(stream_chunks(script, model="fake", include_usage=False))
    assert deltas[0] == {"role": "assistant", "content": ""}
    assert deltas[-1] == {}
    pieces = [delta["tool_calls"] for delta in deltas[1:-1]]
    assert all(len(piece) == 1 for piece in pieces)
    calls: dict[int, dict[str, str]] = {}
    for [piece] in pieces:
        if "id" in piece:
            # The first piece of a call: its id, type and name, and no arguments yet.
            assert piece["type"] == "function"
            assert piece["function"]["arguments"] == ""
            assert piece["index"] not in calls
            calls[piece["index"]] = {
                "id": piece["id"],
                "name": piece["function"]["name"],
                "args": "",
            }
        else:
            assert set(piece) == {"index", "function"}
            assert set(piece["function"]) == {"arguments"}
            calls[piece["index"]]["args"] += piece["function"]["arguments"]
    assert [(call["id"], call["name"]) for call in calls.values()] == [
        (tool_call.id, "get_weather") for tool_call in script.tool_calls
    ]
    assert [orjson.loads(call["args"]) for call in calls.values()] == [
        {"city": "Paris"},
        {"city": "Rome"},
    ]
    argument_chunks = [piece for [piece] in pieces if "id" not in piece]
    assert len(argument_chunks) > 2 * 2  # several fragments per call


def test_tool_call_finish_reason() -> None:
    chunks = stream_chunks(_script("weather in Paris"), model="fake", include_usage=False)
    assert chunks[-1]["choices"][0]["finish_reason"] == "tool_calls"


def test_stream_plan_ends_with_done_and_frames_are_sse_data_lines() -> None:
    script = _script("hi")
    plan = stream_plan(script, model="fake", include_usage=True)
    assert not plan.abort
    assert plan.frames[-1] == DONE_FRAME == b"data: [DONE]\n\n"
    chunks = stream_chunks(script, model="fake", include_usage=True)
    assert list(plan.frames[:-1]) == [sse_frame(chunk) for chunk in chunks]
    for frame in plan.frames[:-1]:
        assert frame.startswith(b"data: {") and frame.endswith(b"}\n\n")
        assert b"\n" not in frame[:-2]
        orjson.loads(frame[len(b"data: ") : -2])


@pytest.mark.parametrize("include_usage", [True, False])
@pytest.mark.parametrize("model", ["fake", 'odd "delta":{} name \\ \u2028'])
@pytest.mark.parametrize(
    "text", ["hi", "long:40", "weather in Paris and Zürich", 'a "quoted" \\ line long:3']
)
def test_encoded_frames_are_exactly_the_chunks(text: str, model: str, include_usage: bool) -> None:
    # The plan splices deltas into a pre-encoded envelope for speed; it must not differ from
    # encoding every chunk dict whole.
    script = _script(text)
    plan = stream_plan(script, model=model, include_usage=include_usage)
    chunks = stream_chunks(script, model=model, include_usage=include_usage)
    assert plan.frames == (*[sse_frame(chunk) for chunk in chunks], DONE_FRAME)


def test_frames_keep_non_ascii_unescaped() -> None:
    plan = stream_plan(_script("weather in Zürich"), model="fake", include_usage=False)
    assert any("Zürich".encode() in frame for frame in plan.frames)


def test_cut_plan_sends_a_few_chunks_then_aborts() -> None:
    plan = stream_plan(_script("fault:cut"), model="fake", include_usage=False)
    assert plan.abort
    assert len(plan.frames) == 1 + CUT_AFTER_CONTENT_CHUNKS
    assert DONE_FRAME not in plan.frames


def test_malformed_plan_has_exactly_one_invalid_chunk() -> None:
    plan = stream_plan(_script("fault:malformed"), model="fake", include_usage=False)
    assert not plan.abort
    assert plan.frames[-1] == DONE_FRAME
    invalid = []
    for frame in plan.frames[:-1]:
        try:
            orjson.loads(frame[len(b"data: ") : -2])
        except orjson.JSONDecodeError:
            invalid.append(frame)
    assert len(invalid) == 1
    assert invalid[0] == plan.frames[1]


def test_completion_body_text_and_tool_calls() -> None:
    text = completion(_script("hi"), model="m")
    assert text["object"] == "chat.completion"
    assert text["model"] == "m"
    assert text["choices"][0]["message"]["content"] == "Hello! How can I help you today?"
    assert "tool_calls" not in text["choices"][0]["message"]
    assert text["choices"][0]["finish_reason"] == "stop"
    assert text["usage"]["total_tokens"] > 0

    script = _script("weather in Paris")
    calls = completion(script, model="m")
    message = calls["choices"][0]["message"]
    assert message["content"] is None
    assert message["tool_calls"] == [
        {
            "id": script.tool_calls[0].id,
            "type": "function",
            "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
        }
    ]
    assert calls["choices"][0]["finish_reason"] == "tool_calls"


def test_completion_plans_for_faults() -> None:
    whole = completion_plan(_script("hi"), model="fake")
    assert not whole.abort
    orjson.loads(whole.frames[0])
    cut = completion_plan(_script("fault:cut"), model="fake")
    assert cut.abort
    malformed = completion_plan(_script("fault:malformed"), model="fake")
    assert not malformed.abort
    with pytest.raises(orjson.JSONDecodeError):
        orjson.loads(malformed.frames[0])


def test_fault_statuses() -> None:
    status, body, headers = fault_status(Fault.SERVER_ERROR)
    assert status == 500
    assert body["error"]["type"] == "server_error"
    assert headers == []
    status, body, headers = fault_status(Fault.RATE_LIMITED)
    assert status == 429
    assert (b"retry-after", b"1") in headers
    assert body["error"]["message"]
    with pytest.raises(ValueError, match="cut"):
        fault_status(Fault.CUT)


def test_error_body_and_models_list_shapes() -> None:
    assert error_body("bad", error_type="invalid_request_error", param="messages") == {
        "error": {
            "message": "bad",
            "type": "invalid_request_error",
            "param": "messages",
            "code": None,
        }
    }
    assert models_list()["data"][0]["id"] == "fake"
