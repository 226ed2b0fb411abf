"""``GET /threads/{id}/stream`` over HTTP: live from connection, a ``run_done`` after each
run, ids on every event, replay after ``Last-Event-ID`` of what resumable runs kept."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
from run_helpers import create_background_run, new_thread, slow_input, user_input, wait_for_status

pytestmark = pytest.mark.asyncio(loop_scope="session")

_EVENTS_PER_RUN = 4  # custom_events in values mode: metadata, values x2, run_done


async def _read_events(
    client: httpx.AsyncClient,
    thread_id: str,
    count: int,
    *,
    headers: dict[str, str] | None = None,
    connected: asyncio.Event | None = None,
) -> tuple[httpx.Response, list[tuple[str, Any, str | None]]]:
    """The first ``count`` events of the thread stream (it never ends by itself)."""
    events: list[tuple[str, Any, str | None]] = []
    name, data, event_id = "", "", None
    path = f"/threads/{thread_id}/stream?stream_mode=run_modes"
    async with client.stream("GET", path, headers=headers) as response:
        if connected is not None:
            connected.set()
        async for line in response.aiter_lines():
            if line.startswith("event: "):
                name = line.removeprefix("event: ")
            elif line.startswith("data: "):
                data = line.removeprefix("data: ")
            elif line.startswith("id: "):
                event_id = line.removeprefix("id: ")
            elif line == "" and name:
                events.append((name, json.loads(data), event_id))
                name, data, event_id = "", "", None
                if len(events) == count:
                    break
    return response, events


async def _run(client: httpx.AsyncClient, thread_id: str, text: str, **extra: Any) -> str:
    response = await client.post(
        f"/threads/{thread_id}/runs/wait",
        json={
            "assistant_id": "custom_events",
            "input": user_input(text),
            "stream_mode": ["values"],
            **extra,
        },
    )
    assert response.status_code == 200, response.text
    return str(response.headers["content-location"].rsplit("/", 1)[1])


async def test_live_events_of_each_run_then_run_done(client: httpx.AsyncClient) -> None:
    thread_id = await new_thread(client)
    connected = asyncio.Event()
    follower = asyncio.create_task(
        _read_events(client, thread_id, 2 * _EVENTS_PER_RUN, connected=connected)
    )
    await asyncio.wait_for(connected.wait(), 10)
    first = await _run(client, thread_id, "one")
    second = await _run(client, thread_id, "two", stream_resumable=True)
    response, events = await asyncio.wait_for(follower, 10)

    assert response.headers["content-type"] == "text/event-stream; charset=utf-8"
    # As langgraph dev: the stream names no run.
    assert "location" not in response.headers
    assert "content-location" not in response.headers
    assert [name for name, _, _ in events] == ["metadata", "values", "values", "metadata"] * 2
    assert events[0][1] == {"run_id": first, "attempt": 1}
    assert events[3][1] == {"status": "run_done", "run_id": first}
    assert events[7][1] == {"status": "run_done", "run_id": second}
    # Every event has an id, whether or not its run is resumable; within a run they increase.
    ids = [event_id for _, _, event_id in events]
    assert all(ids)
    assert ids[:4] == sorted(ids[:4]) and ids[4:] == sorted(ids[4:])


async def test_last_event_id_replays_what_resumable_runs_kept(client: httpx.AsyncClient) -> None:
    thread_id = await new_thread(client)
    connected = asyncio.Event()
    follower = asyncio.create_task(
        _read_events(client, thread_id, 3 * _EVENTS_PER_RUN, connected=connected)
    )
    await asyncio.wait_for(connected.wait(), 10)
    await _run(client, thread_id, "kept", stream_resumable=True)
    await _run(client, thread_id, "not kept")
    await _run(client, thread_id, "kept too", stream_resumable=True)
    _, live = await asyncio.wait_for(follower, 10)
    kept = live[:4] + live[8:]

    # After the first run's input: the rest of it, its run_done, and the third run; the
    # second, not resumable, kept nothing.
    _, replayed = await asyncio.wait_for(
        _read_events(client, thread_id, 6, headers={"last-event-id": str(live[1][2])}), 10
    )
    assert replayed == kept[2:]
    # After the first run's run_done: the third run, run_done included, same ids as live.
    _, replayed = await asyncio.wait_for(
        _read_events(client, thread_id, 4, headers={"last-event-id": str(live[3][2])}), 10
    )
    assert replayed == live[8:]
    # An id before every kept one: everything kept.
    _, replayed = await asyncio.wait_for(
        _read_events(client, thread_id, 8, headers={"last-event-id": "0"}), 10
    )
    assert replayed == kept


async def test_thread_stream_modes_and_bad_requests(client: httpx.AsyncClient) -> None:
    thread_id = await new_thread(client)
    bad_mode = await client.get(f"/threads/{thread_id}/stream?stream_mode=values")
    assert bad_mode.status_code == 422
    assert "run_modes" in bad_mode.text
    malformed = await client.get("/threads/not-a-uuid/stream")
    assert malformed.status_code == 422
    unknown = await client.get("/threads/00000000-0000-0000-0000-000000000000/stream")
    assert unknown.status_code == 404


async def test_joining_mid_run_gets_only_what_follows(client: httpx.AsyncClient) -> None:
    # As langgraph dev: a thread stream opened while a run works does not replay the run's
    # earlier events, resumable or not; it gets the rest and the run_done.
    thread_id = await new_thread(client)
    run = await create_background_run(
        client,
        thread_id,
        {
            "assistant_id": "weather_agent",
            "input": slow_input(100),
            "stream_mode": ["values"],
            "stream_resumable": True,
        },
    )
    await wait_for_status(client, thread_id, run["run_id"], {"running"})
    await asyncio.sleep(0.3)  # the input's values event is out; the answer is ~1 s away
    _, events = await asyncio.wait_for(_read_events(client, thread_id, 2), 10)
    assert [name for name, _, _ in events] == ["values", "metadata"]
    assert events[0][1]["messages"][-1]["type"] == "ai"
    assert events[1][1] == {"status": "run_done", "run_id": run["run_id"]}
