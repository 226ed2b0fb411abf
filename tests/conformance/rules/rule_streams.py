"""Hand-built streams for the rule tests: a langgraph-dev-like stream and its parts."""

from __future__ import annotations

import json
from typing import Any

from conformance.rules.context import StreamInput

THREAD_ID = "1f0b6c3e-0000-7000-8000-00000000aaaa"
RUN_ID = "1f0b6c3e-1111-7000-8000-00000000bbbb"
STREAM_PATH = f"/threads/{THREAD_ID}/runs/stream"
JOIN_PATH = f"/threads/{THREAD_ID}/runs/{RUN_ID}/stream"

Event = tuple[str, Any] | tuple[str, Any, str]


def sse(*events: Event, newline: bytes = b"\r\n", raw_data: bool = False) -> bytes:
    """Events as langgraph dev frames them: event, data (compact JSON), optional id."""
    out = b""
    for event in events:
        name, data = event[0], event[1]
        text = (
            data if raw_data and isinstance(data, str) else json.dumps(data, separators=(",", ":"))
        )
        lines = [f"event: {name}", f"data: {text}"]
        if len(event) == 3:
            lines.append(f"id: {event[2]}")
        out += newline.join(line.encode() for line in lines) + newline + newline
    return out


def stream_headers(run_id: str = RUN_ID) -> list[tuple[str, str]]:
    return [
        ("content-type", "text/event-stream; charset=utf-8"),
        ("location", f"/threads/{THREAD_ID}/runs/{run_id}/stream"),
        ("content-location", f"/threads/{THREAD_ID}/runs/{run_id}"),
        ("cache-control", "no-store"),
        ("x-accel-buffering", "no"),
    ]


def metadata(run_id: str = RUN_ID) -> tuple[str, Any]:
    return ("metadata", {"run_id": run_id, "attempt": 1})


AI_ID = "lc_run--1f0b6c3e-2222-7000-8000-00000000cccc"
TOOL_ID = "0b6c3e22-3333-4000-8000-00000000dddd"


def values_events() -> list[Event]:
    human = {"type": "human", "content": "hi", "id": "0b6c3e22-4444-4000-8000-00000000eeee"}
    ai = {"type": "ai", "content": "Hello!", "id": AI_ID, "tool_calls": []}
    return [metadata(), ("values", {"messages": [human]}), ("values", {"messages": [human, ai]})]


def messages_events() -> list[Event]:
    partial = {"type": "AIMessageChunk", "content": "Hel", "id": AI_ID}
    return [
        metadata(),
        ("messages/metadata", {AI_ID: {"metadata": {"langgraph_node": "agent"}}}),
        ("messages/partial", [partial]),
        ("messages/partial", [{**partial, "content": "Hello"}]),
        ("messages/metadata", {TOOL_ID: {"metadata": {"langgraph_node": "tools"}}}),
        ("messages/complete", [{"type": "tool", "content": "sunny", "id": TOOL_ID}]),
    ]


def tuple_events() -> list[Event]:
    chunk = {"type": "AIMessageChunk", "content": "Hel", "id": AI_ID, "tool_call_chunks": []}
    return [
        metadata(),
        ("messages", [chunk, {"langgraph_node": "agent"}]),
        ("messages", [{**chunk, "content": "lo", "chunk_position": "last"}, {"a": 1}]),
    ]


def stream(
    body: bytes | list[bytes],
    *,
    request_body: Any = None,
    headers: list[tuple[str, str]] | None = None,
    method: str = "POST",
    path: str = STREAM_PATH,
    **extra: Any,
) -> StreamInput:
    return StreamInput(
        method=method,
        path=path,
        status=extra.pop("status", 200),
        response_headers=stream_headers() if headers is None else headers,
        chunks=body if isinstance(body, list) else [body],
        request_body={"assistant_id": "agent"} if request_body is None else request_body,
        **extra,
    )
