"""Run lifecycle over HTTP: multitask strategies, cancel, on_disconnect, join, resumable
replay with ``Last-Event-ID``."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
from run_helpers import (
    create_background_run,
    new_thread,
    slow_input,
    stream,
    user_input,
    wait_for_status,
)

pytestmark = pytest.mark.asyncio(loop_scope="session")

SLOW_RUN = {"assistant_id": "weather_agent", "input": slow_input(150)}


def _human_texts(values: dict[str, object]) -> list[str]:
    messages = values.get("messages") or []
    assert isinstance(messages, list)
    return [message["content"] for message in messages if message["type"] == "human"]


async def test_reject_answers_409_while_the_thread_is_busy(client: httpx.AsyncClient) -> None:
    thread_id = await new_thread(client)
    first = await create_background_run(client, thread_id, SLOW_RUN)
    await wait_for_status(client, thread_id, first["run_id"], {"running"})
    rejected = await client.post(
        f"/threads/{thread_id}/runs",
        json={
            "assistant_id": "custom_events",
            "input": user_input("x"),
            "multitask_strategy": "reject",
        },
    )
    assert rejected.status_code == 409
    assert "already running" in rejected.json()["detail"]
    await client.post(f"/threads/{thread_id}/runs/{first['run_id']}/cancel?wait=1")


async def test_interrupt_stops_the_first_run_and_keeps_its_input(
    client: httpx.AsyncClient,
) -> None:
    thread_id = await new_thread(client)
    first = await create_background_run(client, thread_id, SLOW_RUN)
    await wait_for_status(client, thread_id, first["run_id"], {"running"})
    await asyncio.sleep(0.3)
    second = await stream(
        client,
        f"/threads/{thread_id}/runs/stream",
        {
            "assistant_id": "weather_agent",
            "input": user_input("hi"),
            "multitask_strategy": "interrupt",
        },
    )
    assert second.names[-1] == "values"
    first_after = (await client.get(f"/threads/{thread_id}/runs/{first['run_id']}")).json()
    assert first_after["status"] == "interrupted"
    humans = _human_texts(second.payloads("values")[-1])
    assert humans == ["hello delay:150", "hi"]


async def test_rollback_deletes_the_first_run_and_its_state(client: httpx.AsyncClient) -> None:
    thread_id = await new_thread(client)
    first = await create_background_run(client, thread_id, SLOW_RUN)
    await wait_for_status(client, thread_id, first["run_id"], {"running"})
    await asyncio.sleep(0.3)
    second = await stream(
        client,
        f"/threads/{thread_id}/runs/stream",
        {
            "assistant_id": "weather_agent",
            "input": user_input("hi"),
            "multitask_strategy": "rollback",
        },
    )
    assert second.names[-1] == "values"
    gone = await client.get(f"/threads/{thread_id}/runs/{first['run_id']}")
    assert gone.status_code == 404
    assert _human_texts(second.payloads("values")[-1]) == ["hi"]
    thread = (await client.get(f"/threads/{thread_id}")).json()
    assert _human_texts(thread["values"]) == ["hi"]


async def test_enqueue_waits_then_runs_on_top_of_the_first(client: httpx.AsyncClient) -> None:
    thread_id = await new_thread(client)
    first = await create_background_run(client, thread_id, SLOW_RUN)
    second = await stream(
        client,
        f"/threads/{thread_id}/runs/stream",
        {
            "assistant_id": "weather_agent",
            "input": user_input("hi"),
            "multitask_strategy": "enqueue",
        },
    )
    first_after = (await client.get(f"/threads/{thread_id}/runs/{first['run_id']}")).json()
    assert first_after["status"] == "success"
    assert _human_texts(second.payloads("values")[-1]) == ["hello delay:150", "hi"]
    # While queued, the second stream sent only heartbeats before its metadata.
    assert second.names[0] == "metadata"


async def test_cancel_interrupts_then_finished_runs_cannot_be_cancelled(
    client: httpx.AsyncClient,
) -> None:
    thread_id = await new_thread(client)
    run = await create_background_run(client, thread_id, SLOW_RUN)
    await wait_for_status(client, thread_id, run["run_id"], {"running"})
    cancelled = await client.post(f"/threads/{thread_id}/runs/{run['run_id']}/cancel")
    assert cancelled.status_code == 202
    await wait_for_status(client, thread_id, run["run_id"], {"interrupted"})
    thread = (await client.get(f"/threads/{thread_id}")).json()
    assert thread["status"] == "interrupted"
    again = await client.post(f"/threads/{thread_id}/runs/{run['run_id']}/cancel")
    assert again.status_code == 404


async def test_cancel_with_rollback_deletes_the_run(client: httpx.AsyncClient) -> None:
    thread_id = await new_thread(client)
    run = await create_background_run(client, thread_id, SLOW_RUN)
    await wait_for_status(client, thread_id, run["run_id"], {"running"})
    cancelled = await client.post(
        f"/threads/{thread_id}/runs/{run['run_id']}/cancel?wait=1&action=rollback"
    )
    assert cancelled.status_code == 200
    assert cancelled.json() == {}
    assert (await client.get(f"/threads/{thread_id}/runs/{run['run_id']}")).status_code == 404
    thread = (await client.get(f"/threads/{thread_id}")).json()
    assert thread["status"] == "idle"
    # The thread's only run is gone with its state: no values, as on a fresh thread.
    assert thread["values"] is None
    assert "interrupts" not in thread
    assert thread["error"] == {
        "error": "UserRollback",
        "message": "rollback requested via POST /threads/{thread_id}/runs/{run_id}/cancel",
    }


async def test_cancel_with_wait_answers_once_the_run_is_over(client: httpx.AsyncClient) -> None:
    thread_id = await new_thread(client)
    run = await create_background_run(client, thread_id, SLOW_RUN)
    run_path = f"/threads/{thread_id}/runs/{run['run_id']}"
    await wait_for_status(client, thread_id, run["run_id"], {"running"})
    cancelled = await client.post(f"{run_path}/cancel?wait=1")
    assert cancelled.status_code == 200
    assert cancelled.json() == {}
    assert cancelled.headers["location"] == f"{run_path}/join"
    assert cancelled.headers["content-location"] == run_path
    # No polling: wait=1 answered after the run ended.
    assert (await client.get(run_path)).json()["status"] == "interrupted"
    assert (await client.get(f"/threads/{thread_id}")).json()["status"] == "interrupted"


async def test_deleting_a_thread_ends_its_running_run(client: httpx.AsyncClient) -> None:
    thread_id = await new_thread(client)
    body = {**SLOW_RUN, "stream_mode": ["values"]}
    names: list[str] = []
    async with client.stream("POST", f"/threads/{thread_id}/runs/stream", json=body) as response:
        run_path = response.headers["content-location"]
        lines = response.aiter_lines()
        async for line in lines:
            if line.startswith("event: "):
                names.append(line.removeprefix("event: "))
            if names == ["metadata", "values"]:
                break
        deleted = await client.delete(f"/threads/{thread_id}")
        assert deleted.status_code == 204
        rest = [line async for line in lines]
    assert "event: error" in rest
    assert 'data: {"error":"HTTPException","message":"404: Run not found"}' in rest
    assert (await client.get(run_path)).status_code == 404
    assert (await client.get(f"/threads/{thread_id}")).status_code == 404


async def test_on_disconnect_cancel_interrupts_the_run(client: httpx.AsyncClient) -> None:
    thread_id = await new_thread(client)
    body = {**SLOW_RUN, "on_disconnect": "cancel"}
    async with client.stream("POST", f"/threads/{thread_id}/runs/stream", json=body) as response:
        run_id = response.headers["content-location"].rsplit("/", 1)[1]
        async for _ in response.aiter_bytes():
            break  # leave after the first bytes
    await wait_for_status(client, thread_id, run_id, {"interrupted"})


async def test_on_disconnect_continue_lets_the_run_finish(client: httpx.AsyncClient) -> None:
    thread_id = await new_thread(client)
    async with client.stream(
        "POST", f"/threads/{thread_id}/runs/stream", json=SLOW_RUN
    ) as response:
        run_id = response.headers["content-location"].rsplit("/", 1)[1]
        async for _ in response.aiter_bytes():
            break
    await wait_for_status(client, thread_id, run_id, {"success"})


async def test_resumable_replay_live_and_after_the_end(client: httpx.AsyncClient) -> None:
    thread_id = await new_thread(client)
    body = {**SLOW_RUN, "stream_resumable": True, "stream_mode": ["values", "messages-tuple"]}
    original = await stream(client, f"/threads/{thread_id}/runs/stream", body)
    ids = original.ids
    assert all(ids) and ids == sorted(ids) and len(set(ids)) == len(ids)
    run_id = original.payloads("metadata")[0]["run_id"]
    path = f"/threads/{thread_id}/runs/{run_id}/stream"
    everything = await stream(client, path, method="GET", headers={"Last-Event-ID": "-1"})
    assert everything.body == original.body.replace(b": heartbeat\r\n\r\n", b"")
    after_third = await stream(client, path, method="GET", headers={"Last-Event-ID": ids[2]})
    assert after_third.ids == ids[3:]


async def test_join_stream_of_a_running_run_gets_the_rest_live(
    client: httpx.AsyncClient,
) -> None:
    thread_id = await new_thread(client)
    run = await create_background_run(
        client,
        thread_id,
        {**SLOW_RUN, "stream_resumable": True, "stream_mode": ["messages-tuple"]},
    )
    await wait_for_status(client, thread_id, run["run_id"], {"running"})
    path = f"/threads/{thread_id}/runs/{run['run_id']}/stream"
    joined, replayed = await asyncio.gather(
        stream(client, path, method="GET"),
        stream(client, path, method="GET", headers={"Last-Event-ID": "-1"}),
    )
    assert replayed.names[0] == "metadata"
    assert set(replayed.names[1:]) == {"messages"}
    # The live joiner missed the start but gets the same tail, ids included.
    assert 0 < len(joined.names) < len(replayed.names)
    assert joined.ids == replayed.ids[-len(joined.ids) :]


async def test_join_stream_of_a_finished_plain_run_is_empty(client: httpx.AsyncClient) -> None:
    thread_id = await new_thread(client)
    done = await stream(
        client,
        f"/threads/{thread_id}/runs/stream",
        {"assistant_id": "custom_events", "input": user_input("hi")},
    )
    run_id = done.payloads("metadata")[0]["run_id"]
    joined = await stream(client, f"/threads/{thread_id}/runs/{run_id}/stream", method="GET")
    assert joined.response.status_code == 200
    assert joined.body == b""


async def test_join_waits_for_the_final_values(client: httpx.AsyncClient) -> None:
    thread_id = await new_thread(client)
    run = await create_background_run(client, thread_id, SLOW_RUN)
    joined = await client.get(f"/threads/{thread_id}/runs/{run['run_id']}/join")
    assert joined.status_code == 200
    assert joined.json()["messages"][-1]["type"] == "ai"
    assert (await client.get(f"/threads/{thread_id}/runs/{run['run_id']}")).json()[
        "status"
    ] == "success"


async def test_list_get_and_delete_runs(client: httpx.AsyncClient) -> None:
    thread_id = await new_thread(client)
    for _ in range(2):
        await stream(
            client,
            f"/threads/{thread_id}/runs/stream",
            {"assistant_id": "custom_events", "input": user_input("hi")},
        )
    runs = (await client.get(f"/threads/{thread_id}/runs")).json()
    assert len(runs) == 2
    assert runs[0]["created_at"] >= runs[1]["created_at"]
    assert {run["status"] for run in runs} == {"success"}
    one = await client.get(f"/threads/{thread_id}/runs?limit=1&offset=1")
    assert [run["run_id"] for run in one.json()] == [runs[1]["run_id"]]
    deleted = await client.delete(f"/threads/{thread_id}/runs/{runs[0]['run_id']}")
    assert deleted.status_code == 204
    assert (await client.get(f"/threads/{thread_id}/runs/{runs[0]['run_id']}")).status_code == 404
    assert (
        await client.get("/threads/00000000-0000-0000-0000-000000000000/runs")
    ).status_code == 404


async def test_bulk_cancel_by_run_ids(client: httpx.AsyncClient) -> None:
    thread_id = await new_thread(client)
    run = await create_background_run(client, thread_id, SLOW_RUN)
    await wait_for_status(client, thread_id, run["run_id"], {"running"})
    response = await client.post(
        "/runs/cancel", json={"thread_id": thread_id, "run_ids": [run["run_id"]]}
    )
    assert response.status_code == 204
    await wait_for_status(client, thread_id, run["run_id"], {"interrupted"})
    nothing = await client.post(
        "/runs/cancel", json={"thread_id": thread_id, "run_ids": [run["run_id"]]}
    )
    assert nothing.status_code == 404


async def test_configurable_merges_headers_and_ids(client: httpx.AsyncClient) -> None:
    thread_id = await new_thread(client)
    result = await stream(
        client,
        f"/threads/{thread_id}/runs/stream",
        {
            "assistant_id": "custom_events",
            "input": user_input("hi"),
            "config": {"configurable": {"colour": "blue"}},
            "stream_mode": "checkpoints",
        },
        headers={"x-team": "red", "x-api-key": "secret", "authorization": "Bearer nope"},
    )
    configurable = result.payloads("checkpoints")[0]["config"]["configurable"]
    assert configurable["colour"] == "blue"
    assert configurable["x-team"] == "red"
    assert "x-api-key" not in configurable and "authorization" not in configurable
    assert configurable["thread_id"] == thread_id
    assert configurable["graph_id"] == "custom_events"
    run_id = result.payloads("metadata")[0]["run_id"]
    assert configurable["run_id"] == run_id
    run = (await client.get(f"/threads/{thread_id}/runs/{run_id}")).json()
    kept = run["kwargs"]["config"]["configurable"]
    assert kept["colour"] == "blue" and "x-team" not in kept
    assert run["kwargs"]["context"] == {"colour": "blue"}


async def test_thread_stream_follows_the_runs_of_the_thread(client: httpx.AsyncClient) -> None:
    thread_id = await new_thread(client)
    names: list[str] = []

    async def follow() -> None:
        async with client.stream("GET", f"/threads/{thread_id}/stream") as response:
            assert response.headers["content-type"] == "text/event-stream; charset=utf-8"
            async for line in response.aiter_lines():
                if line.startswith("event: "):
                    names.append(line.removeprefix("event: "))
                if names.count("metadata") == 4:
                    return  # two runs, each closed by run_done: the thread stream never ends

    follower = asyncio.create_task(follow())
    await asyncio.sleep(0.3)
    for text in ("one", "two"):
        await client.post(
            f"/threads/{thread_id}/runs/wait",
            json={"assistant_id": "custom_events", "input": user_input(text)},
        )
    await asyncio.wait_for(follower, 10)
    assert names == ["metadata", "values", "values", "metadata"] * 2


async def test_wait_sends_newlines_while_the_run_works(client: httpx.AsyncClient) -> None:
    thread_id = await new_thread(client)
    async with client.stream(
        "POST",
        f"/threads/{thread_id}/runs/wait",
        json={"assistant_id": "weather_agent", "input": slow_input(200)},
    ) as response:
        chunks = [chunk async for chunk in response.aiter_bytes()]
    body = b"".join(chunks)
    assert response.headers["content-type"] == "application/json"
    assert body.startswith(b"\n")
    assert json.loads(body)["messages"][-1]["type"] == "ai"


async def test_after_seconds_delays_the_start(client: httpx.AsyncClient) -> None:
    thread_id = await new_thread(client)
    run = await create_background_run(
        client,
        thread_id,
        {"assistant_id": "custom_events", "input": user_input("hi"), "after_seconds": 1},
    )
    await asyncio.sleep(0.5)
    pending = (await client.get(f"/threads/{thread_id}/runs/{run['run_id']}")).json()
    assert pending["status"] == "pending"
    await wait_for_status(client, thread_id, run["run_id"], {"success"})


async def test_concurrent_rejects_let_exactly_one_run_in(client: httpx.AsyncClient) -> None:
    thread_id = await new_thread(client)
    body = {**SLOW_RUN, "multitask_strategy": "reject"}
    responses = await asyncio.gather(
        *(client.post(f"/threads/{thread_id}/runs", json=body) for _ in range(6))
    )
    statuses = sorted(response.status_code for response in responses)
    assert statuses == [200, 409, 409, 409, 409, 409]
    [accepted] = [response.json() for response in responses if response.status_code == 200]
    await client.post(f"/threads/{thread_id}/runs/{accepted['run_id']}/cancel?wait=1")
