"""A :class:`Script` rendered as OpenAI wire data: stream chunks, completions, error bodies.

Pure: dicts and bytes, no I/O. The shapes follow OpenAI's (and vLLM's) chat-completion API:
the first chunk carries ``delta.role`` and an empty content, text streams one token per chunk,
a tool call streams its id and name first and then its JSON arguments in fragments, a final
chunk carries ``finish_reason``, an optional usage chunk has ``choices: []``, then ``[DONE]``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from conformance.fake_llm.scripts import Fault, Script

CREATED = 1_700_000_000
"""The fixed ``created`` timestamp of every completion, so replies are byte-identical."""
SYSTEM_FINGERPRINT = "fp_fake_llm"
MODEL_ID = "fake"
"""The model ``GET /v1/models`` lists; requests may name any model and get it echoed back."""
CUT_AFTER_CONTENT_CHUNKS = 3
"""How many content chunks ``fault:cut`` sends before dropping the connection."""

DONE_FRAME = b"data: [DONE]\n\n"
_MALFORMED_DATA = b'{"id": "chatcmpl-malformed", "choices": [{"delta": {"content": "Hel'


@dataclass(frozen=True, slots=True)
class WirePlan:
    """What to write for one response body, in order, and how to end it."""

    frames: tuple[bytes, ...]
    """Stream: one SSE event each. Non-stream: a single frame, the whole body."""
    abort: bool = False
    """Drop the connection after the frames instead of ending the body cleanly."""


def stream_chunks(script: Script, *, model: str, include_usage: bool) -> list[dict[str, Any]]:
    """Every ``chat.completion.chunk`` of a complete streamed reply, in order."""
    return [
        _chunk(script, model, include_usage, {"role": "assistant", "content": ""}),
        *(_chunk(script, model, include_usage, {"content": token}) for token in script.text_tokens),
        *_chunks_after_text(script, model, include_usage),
    ]


def completion(script: Script, *, model: str) -> dict[str, Any]:
    """The non-streamed ``chat.completion`` body."""
    message: dict[str, Any] = {
        "role": "assistant",
        "content": None if script.tool_calls else script.text,
        "refusal": None,
    }
    if script.tool_calls:
        message["tool_calls"] = [
            {
                "id": call.id,
                "type": "function",
                "function": {"name": call.name, "arguments": call.arguments},
            }
            for call in script.tool_calls
        ]
    return {
        "id": script.completion_id,
        "object": "chat.completion",
        "created": CREATED,
        "model": model,
        "system_fingerprint": SYSTEM_FINGERPRINT,
        "choices": [
            {
                "index": 0,
                "message": message,
                "logprobs": None,
                "finish_reason": script.finish_reason,
            }
        ],
        "usage": usage(script),
    }


def usage(script: Script) -> dict[str, int]:
    return {
        "prompt_tokens": script.prompt_tokens,
        "completion_tokens": script.completion_tokens,
        "total_tokens": script.prompt_tokens + script.completion_tokens,
    }


def stream_plan(script: Script, *, model: str, include_usage: bool) -> WirePlan:
    """The SSE frames of a streamed reply, faults ``cut`` and ``malformed`` included."""
    frames = _stream_frames(script, model, include_usage)
    if script.fault is Fault.CUT:
        # The role chunk, then a few tokens: enough for a client to have started reading.
        return WirePlan(frames=tuple(frames[: 1 + CUT_AFTER_CONTENT_CHUNKS]), abort=True)
    if script.fault is Fault.MALFORMED:
        # Only the JSON of one chunk is broken; the SSE framing around it stays valid.
        broken = b"data: " + _MALFORMED_DATA + b"\n\n"
        return WirePlan(frames=(frames[0], broken, *frames[1:], DONE_FRAME))
    return WirePlan(frames=(*frames, DONE_FRAME))


def completion_plan(script: Script, *, model: str) -> WirePlan:
    """The body of a non-streamed reply, faults ``cut`` and ``malformed`` included."""
    body = orjson.dumps(completion(script, model=model))
    if script.fault is Fault.CUT:
        return WirePlan(frames=(body[: len(body) // 2],), abort=True)
    if script.fault is Fault.MALFORMED:
        return WirePlan(frames=(_MALFORMED_DATA,))
    return WirePlan(frames=(body,))


def sse_frame(chunk: dict[str, Any]) -> bytes:
    return b"data: " + orjson.dumps(chunk) + b"\n\n"


def error_body(
    message: str, *, error_type: str, code: str | None = None, param: str | None = None
) -> dict[str, Any]:
    """An OpenAI-style error body: ``{"error": {"message", "type", "param", "code"}}``."""
    return {"error": {"message": message, "type": error_type, "param": param, "code": code}}


def fault_status(fault: Fault) -> tuple[int, dict[str, Any], list[tuple[bytes, bytes]]]:
    """Status, body and extra headers of a fault answered with an HTTP error."""
    if fault is Fault.SERVER_ERROR:
        body = error_body(
            "The fake LLM was asked to fail (fault:500).",
            error_type="server_error",
            code="fault_500",
        )
        return 500, body, []
    if fault is Fault.RATE_LIMITED:
        body = error_body(
            "The fake LLM was asked to rate-limit (fault:429).",
            error_type="rate_limit_exceeded",
            code="fault_429",
        )
        return 429, body, [(b"retry-after", b"1")]
    raise ValueError(f"fault {fault.value!r} is not answered with an HTTP error status")


def models_list() -> dict[str, Any]:
    """The ``GET /v1/models`` body."""
    return {
        "object": "list",
        "data": [
            {"id": MODEL_ID, "object": "model", "created": CREATED, "owned_by": "conformance"}
        ],
    }


def _stream_frames(script: Script, model: str, include_usage: bool) -> list[bytes]:
    """``[sse_frame(chunk) for chunk in stream_chunks(...)]``, byte for byte, only faster.

    Chunks differ only in their delta: the envelope is encoded once and each delta spliced
    in, which makes a 2,000-token answer several times cheaper to encode.
    """
    empty_delta_frame = sse_frame(_chunk(script, model, include_usage, {}))
    head, tail = empty_delta_frame.split(_EMPTY_DELTA, 1)
    head += b'"delta":'
    frames = [head + b'{"role":"assistant","content":""}' + tail]
    frames.extend(
        head + b'{"content":' + orjson.dumps(token) + b"}" + tail for token in script.text_tokens
    )
    # Tool-call pieces, the finish chunk and the usage chunk are few: encode them whole.
    frames.extend(sse_frame(chunk) for chunk in _chunks_after_text(script, model, include_usage))
    return frames


def _chunks_after_text(script: Script, model: str, include_usage: bool) -> list[dict[str, Any]]:
    """The tool-call pieces, the finish chunk and, if asked for, the usage chunk."""
    chunks = []
    for index, call in enumerate(script.tool_calls):
        header = {
            "index": index,
            "id": call.id,
            "type": "function",
            "function": {"name": call.name, "arguments": ""},
        }
        chunks.append(_chunk(script, model, include_usage, {"tool_calls": [header]}))
        for fragment in call.argument_fragments:
            piece = {"index": index, "function": {"arguments": fragment}}
            chunks.append(_chunk(script, model, include_usage, {"tool_calls": [piece]}))
    chunks.append(_chunk(script, model, include_usage, {}, finish_reason=script.finish_reason))
    if include_usage:
        chunks.append({**_envelope(script, model), "choices": [], "usage": usage(script)})
    return chunks


# A JSON string escapes every quote, so this can only match the chunk's own delta key.
_EMPTY_DELTA = b'"delta":{}'


def _envelope(script: Script, model: str) -> dict[str, Any]:
    return {
        "id": script.completion_id,
        "object": "chat.completion.chunk",
        "created": CREATED,
        "model": model,
        "system_fingerprint": SYSTEM_FINGERPRINT,
    }


def _chunk(
    script: Script,
    model: str,
    include_usage: bool,
    delta: dict[str, Any],
    *,
    finish_reason: str | None = None,
) -> dict[str, Any]:
    chunk = {
        **_envelope(script, model),
        "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}],
    }
    if include_usage:
        # OpenAI puts "usage": null on every chunk but the last when usage was asked for.
        chunk["usage"] = None
    return chunk
