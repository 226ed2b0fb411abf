"""Streaming runs over HTTP against the reference server: framing, headers, every stream mode,
errors, statuses, heartbeats."""

from __future__ import annotations

import asyncio
from collections import Counter

import httpx
import pytest
from run_helpers import (
    WEATHER_QUESTION,
    new_thread,
    slow_input,
    stream,
    user_input,
)

from conformance.sse.parser import LineEnding

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_stream_headers_framing_and_terminal_status(client: httpx.AsyncClient) -> None:
    thread_id = await new_thread(client)
    result = await stream(
        client,
        f"/threads/{thread_id}/runs/stream",
        {"assistant_id": "weather_agent", "input": user_input(WEATHER_QUESTION)},
    )
    response = result.response
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/event-stream; charset=utf-8"
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["x-accel-buffering"] == "no"
    run_id = result.payloads("metadata")[0]["run_id"]
    assert response.headers["location"] == f"/threads/{thread_id}/runs/{run_id}/stream"
    assert response.headers["content-location"] == f"/threads/{thread_id}/runs/{run_id}"
    assert result.names == ["metadata"] + ["values"] * 4
    assert result.payloads("metadata") == [{"run_id": run_id, "attempt": 1}]
    assert set(result.parsed.line_endings) == {LineEnding.CRLF}
    assert result.parsed.diagnostics == ()
    # Not resumable: no ids. Compact JSON, non-ASCII as is.
    assert result.ids == [None] * 5
    assert "21°C".encode() in result.body
    assert b'": ' not in result.body
    # Terminal before the stream closed: no wait needed.
    run = (await client.get(f"/threads/{thread_id}/runs/{run_id}")).json()
    assert run["status"] == "success"
    thread = (await client.get(f"/threads/{thread_id}")).json()
    assert thread["status"] == "idle"
    assert len(thread["values"]["messages"]) == 4


@pytest.mark.parametrize(
    ("modes", "expected"),
    [
        (["values"], {"values": 4}),
        (["updates"], {"updates": 3}),
        (["tasks"], {"tasks": 6}),
        (["checkpoints"], {"checkpoints": 5}),
        (["debug"], {"debug": 11}),
        (["custom"], {}),
        (["messages"], {"messages/metadata": 3, "messages/complete": 1}),
        (["values", "updates"], {"values": 4, "updates": 3}),
    ],
)
async def test_every_stream_mode_over_http(
    client: httpx.AsyncClient, modes: list[str], expected: dict[str, int]
) -> None:
    thread_id = await new_thread(client)
    result = await stream(
        client,
        f"/threads/{thread_id}/runs/stream",
        {
            "assistant_id": "weather_agent",
            "input": user_input(WEATHER_QUESTION),
            "stream_mode": modes,
        },
    )
    counts = Counter(result.names)
    assert result.names[0] == "metadata"
    assert counts.pop("metadata") == 1
    if "messages" in modes:
        assert counts.pop("messages/partial") > 5
    assert dict(counts) == expected


async def test_messages_tuple_and_events_modes_over_http(client: httpx.AsyncClient) -> None:
    thread_id = await new_thread(client)
    result = await stream(
        client,
        f"/threads/{thread_id}/runs/stream",
        {
            "assistant_id": "weather_agent",
            "input": user_input(WEATHER_QUESTION),
            "stream_mode": ["messages-tuple", "events"],
        },
    )
    names = set(result.names)
    assert names == {"metadata", "messages", "events"}
    chunk, metadata = result.payloads("messages")[0]
    assert chunk["type"] == "AIMessageChunk"
    assert chunk["id"].startswith("lc_run--")
    assert metadata["graph_id"] == "weather_agent"
    assert metadata["run_id"] == result.payloads("metadata")[0]["run_id"]
    events = result.payloads("events")
    assert events[0]["event"] == "on_chain_start"
    assert events[0]["run_id"] == result.payloads("metadata")[0]["run_id"]


async def test_custom_and_subgraph_modes_over_http(client: httpx.AsyncClient) -> None:
    thread_id = await new_thread(client)
    custom = await stream(
        client,
        f"/threads/{thread_id}/runs/stream",
        {"assistant_id": "custom_events", "input": user_input("hi"), "stream_mode": "custom"},
    )
    assert custom.names == ["metadata", "custom", "custom", "custom"]
    assert custom.payloads("custom") == [{"progress": 1}, {"progress": 2}, {"progress": 3}]
    parent = await stream(
        client,
        f"/threads/{await new_thread(client)}/runs/stream",
        {
            "assistant_id": "parent_agent",
            "input": user_input("hi"),
            "stream_mode": ["updates"],
            "stream_subgraphs": True,
        },
    )
    assert parent.names[0] == "metadata"
    assert parent.names[1].startswith("updates|research:")
    assert parent.names[2:] == ["updates", "updates"]


async def test_llm_failure_ends_with_error_event_and_error_statuses(
    client: httpx.AsyncClient,
) -> None:
    thread_id = await new_thread(client)
    result = await stream(
        client,
        f"/threads/{thread_id}/runs/stream",
        {"assistant_id": "weather_agent", "input": user_input("fault:500")},
    )
    assert result.names == ["metadata", "values", "error"]
    assert result.payloads("error") == [
        {"error": "OpenAIAPIError", "message": "An internal error occurred"}
    ]
    run_id = result.payloads("metadata")[0]["run_id"]
    assert (await client.get(f"/threads/{thread_id}/runs/{run_id}")).json()["status"] == "error"
    thread = (await client.get(f"/threads/{thread_id}")).json()
    assert thread["status"] == "error"
    assert thread["error"] == {"error": "OpenAIAPIError", "message": "An internal error occurred"}
    joined = await client.get(f"/threads/{thread_id}/runs/{run_id}/join")
    assert joined.status_code == 200
    assert joined.json() == {"__error__": thread["error"]}
    # The thread still takes runs.
    again = await stream(
        client,
        f"/threads/{thread_id}/runs/stream",
        {"assistant_id": "weather_agent", "input": user_input("hi")},
    )
    assert again.names[-1] == "values"
    assert (await client.get(f"/threads/{thread_id}")).json()["status"] == "idle"


async def test_heartbeats_while_the_run_is_quiet(client: httpx.AsyncClient) -> None:
    thread_id = await new_thread(client)
    result = await stream(
        client,
        f"/threads/{thread_id}/runs/stream",
        {"assistant_id": "weather_agent", "input": slow_input(400), "stream_mode": "updates"},
    )
    assert result.names == ["metadata", "updates"]
    assert [comment.text for comment in result.parsed.comments][:1] == [" heartbeat"]
    assert b": heartbeat\r\n\r\n" in result.body


async def test_interrupt_then_resume_with_command(client: httpx.AsyncClient) -> None:
    thread_id = await new_thread(client)
    first = await stream(
        client,
        f"/threads/{thread_id}/runs/stream",
        {"assistant_id": "approval_agent", "input": user_input("go"), "stream_mode": ["updates"]},
    )
    assert "__interrupt__" in first.payloads("updates")[-1]
    thread = (await client.get(f"/threads/{thread_id}")).json()
    assert thread["status"] == "interrupted"
    [interrupts] = thread["interrupts"].values()
    assert interrupts[0]["value"]["question"] == "Approve the proposal?"
    resumed = await stream(
        client,
        f"/threads/{thread_id}/runs/stream",
        {"assistant_id": "approval_agent", "command": {"resume": "yes"}, "stream_mode": "values"},
    )
    last = resumed.payloads("values")[-1]["messages"][-1]["content"]
    assert last == "The proposal was approved (answer: yes)."
    thread = (await client.get(f"/threads/{thread_id}")).json()
    assert thread["status"] == "idle"
    assert thread["interrupts"] == {}


async def test_stateless_stream_wait_and_batch(client: httpx.AsyncClient) -> None:
    result = await stream(
        client, "/runs/stream", {"assistant_id": "custom_events", "input": user_input("hi")}
    )
    run_id = result.payloads("metadata")[0]["run_id"]
    assert result.response.headers["location"] == f"/runs/{run_id}/stream"
    assert result.response.headers["content-location"] == f"/runs/{run_id}"
    assert result.names == ["metadata", "values", "values"]
    waited = await client.post(
        "/runs/wait", json={"assistant_id": "custom_events", "input": user_input("hi")}
    )
    assert waited.status_code == 200
    assert waited.json()["messages"][-1]["content"] == "All three steps are done."
    batch = await client.post(
        "/runs/batch",
        json=[{"assistant_id": "custom_events", "input": user_input("hi")}] * 2,
    )
    assert batch.status_code == 200
    assert [run["status"] for run in batch.json()] == ["pending", "pending"]


async def test_wait_on_a_thread_returns_final_values(client: httpx.AsyncClient) -> None:
    thread_id = await new_thread(client)
    waited = await client.post(
        f"/threads/{thread_id}/runs/wait",
        json={"assistant_id": "weather_agent", "input": user_input(WEATHER_QUESTION)},
    )
    assert waited.status_code == 200
    assert waited.headers["content-location"].startswith(f"/threads/{thread_id}/runs/")
    assert waited.json()["messages"][-1]["content"].startswith("Here is what I found")


@pytest.mark.parametrize(
    ("body", "status", "detail_part"),
    [
        ({"assistant_id": "weather_agent", "stream_mode": "nonsense"}, 422, "stream_mode"),
        ({"input": {}}, 422, "assistant_id"),
        ({"assistant_id": "no_such_graph"}, 422, "no_such_graph"),
        ({"assistant_id": "00000000-0000-0000-0000-000000000000"}, 404, "assistant not found"),
        ({"assistant_id": "weather_agent", "multitask_strategy": "sometimes"}, 422, "multitask"),
    ],
)
async def test_bad_run_requests_get_clear_errors(
    client: httpx.AsyncClient, body: dict[str, object], status: int, detail_part: str
) -> None:
    thread_id = await new_thread(client)
    response = await client.post(f"/threads/{thread_id}/runs/stream", json=body)
    assert response.status_code == status
    assert detail_part in response.json()["detail"]


async def test_unknown_and_malformed_threads(client: httpx.AsyncClient) -> None:
    body = {"assistant_id": "weather_agent", "input": user_input("hi")}
    missing = await client.post(
        "/threads/00000000-0000-0000-0000-000000000000/runs/stream", json=body
    )
    assert missing.status_code == 404
    assert missing.json() == {"detail": "Thread or assistant not found."}
    # As recorded from langgraph dev: 400 here (not 422 as for /threads/{id}).
    malformed = await client.post("/threads/not-a-uuid/runs/stream", json=body)
    assert malformed.status_code == 400
    assert malformed.json() == {"detail": "badly formed hexadecimal UUID string"}
    invalid_json = await client.post(
        f"/threads/{await new_thread(client)}/runs/stream",
        content=b"{",
        headers={"content-type": "application/json"},
    )
    assert invalid_json.status_code == 422


async def test_if_not_exists_create_makes_the_thread(client: httpx.AsyncClient) -> None:
    thread_id = "0190f0b4-3f7e-7a55-9f3c-3d2f1a0b9c11"
    result = await stream(
        client,
        f"/threads/{thread_id}/runs/stream",
        {"assistant_id": "custom_events", "input": user_input("hi"), "if_not_exists": "create"},
    )
    assert result.names[-1] == "values"
    assert (await client.get(f"/threads/{thread_id}")).status_code == 200


async def test_many_concurrent_streams_none_dropped(client: httpx.AsyncClient) -> None:
    async def one() -> list[str]:
        thread_id = await new_thread(client)
        result = await stream(
            client,
            f"/threads/{thread_id}/runs/stream",
            {
                "assistant_id": "custom_events",
                "input": user_input("hi"),
                "stream_mode": ["values", "custom"],
            },
        )
        return result.names

    results = await asyncio.gather(*(one() for _ in range(40)))
    expected = ["metadata", "values", "custom", "custom", "custom", "values"]
    assert all(names == expected for names in results), Counter(map(tuple, results))
