"""Several reference server processes on one Postgres database behave as one server.

Two servers on two ports sharing a database model N workers behind a proxy, with the choice
of worker in the test's hands: a run is created through worker A and streamed, joined,
rejoined with ``Last-Event-ID`` and cancelled through worker B; multitask strategies hold
across them. Then ``--workers 2`` (granian's workers behind one port) passes the whole
conformance suite. Postgres is a real cluster started for the session (``conftest.py``).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from conformance.processes import ServerProcess, free_port, python_module
from conformance.sse.parser import parse_stream

PROJECT_ROOT = Path(__file__).resolve().parents[2]
CONFIG_PATH = PROJECT_ROOT / "langgraph.json"
TIMEOUT = httpx.Timeout(60.0)


def _start_server(database_url: str, fake_llm_url: str, *, workers: int = 1) -> ServerProcess:
    port = free_port()
    argv = python_module(
        "reference_server",
        "--config",
        str(CONFIG_PATH),
        "--port",
        str(port),
        "--database",
        database_url,
        "--workers",
        str(workers),
        "--heartbeat-seconds",
        "0.5",
        "--max-concurrent-runs",
        "8",
    )
    return ServerProcess(
        argv,
        port=port,
        env={"LLM_BASE_URL": fake_llm_url, "LANGSMITH_TRACING": "false"},
        cwd=PROJECT_ROOT,
        name="reference-server-postgres",
    ).start()


@pytest.fixture(scope="module")
def two_workers(postgres_cluster_url: str, fake_llm_url: str) -> Iterator[tuple[str, str]]:
    """Worker A and worker B: two servers sharing one database, as behind a proxy."""
    first = _start_server(postgres_cluster_url, fake_llm_url)
    try:
        second = _start_server(postgres_cluster_url, fake_llm_url)
        try:
            yield first.url, second.url
        finally:
            second.stop()
    finally:
        first.stop()


@pytest.fixture
async def clients(two_workers: tuple[str, str]) -> AsyncIterator[tuple[httpx.AsyncClient, ...]]:
    url_a, url_b = two_workers
    async with (
        httpx.AsyncClient(base_url=url_a, timeout=TIMEOUT) as worker_a,
        httpx.AsyncClient(base_url=url_b, timeout=TIMEOUT) as worker_b,
    ):
        yield worker_a, worker_b


def _input(text: str) -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": text}]}


async def _new_thread(client: httpx.AsyncClient) -> str:
    response = await client.post("/threads", json={})
    assert response.status_code == 200, response.text
    return str(response.json()["thread_id"])


async def _background_run(
    client: httpx.AsyncClient, thread_id: str, text: str, **fields: Any
) -> dict[str, Any]:
    body = {"assistant_id": "agent", "input": _input(text), **fields}
    response = await client.post(f"/threads/{thread_id}/runs", json=body)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def _status(client: httpx.AsyncClient, thread_id: str, run_id: str) -> str | None:
    response = await client.get(f"/threads/{thread_id}/runs/{run_id}")
    return str(response.json()["status"]) if response.status_code == 200 else None


async def _wait_for_status(
    client: httpx.AsyncClient, thread_id: str, run_id: str, wanted: set[str]
) -> None:
    for _ in range(400):
        if await _status(client, thread_id, run_id) in wanted:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"run {run_id} never reached {wanted}")


async def _wait_for_human(client: httpx.AsyncClient, thread_id: str, text: str) -> None:
    for _ in range(400):
        state = (await client.get(f"/threads/{thread_id}/state")).json()
        messages = (state.get("values") or {}).get("messages", [])
        if any(m.get("type") == "human" and m.get("content") == text for m in messages):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"the input {text!r} never reached the thread's state")


async def _stream(
    client: httpx.AsyncClient,
    path: str,
    headers: dict[str, str] | None = None,
    *,
    body: dict[str, Any] | None = None,
) -> list[tuple[str | None, str, Any]]:
    method = "GET" if body is None else "POST"
    async with client.stream(method, path, headers=headers, json=body) as response:
        assert response.status_code == 200
        raw = await response.aread()
    parsed = parse_stream(raw)
    return [(event.id, event.event, json.loads(event.data)) for event in parsed.events]


async def test_a_run_made_on_worker_a_streams_joins_and_rejoins_on_worker_b(
    clients: tuple[httpx.AsyncClient, httpx.AsyncClient],
) -> None:
    worker_a, worker_b = clients
    thread_id = await _new_thread(worker_a)
    run = await _background_run(
        worker_a, thread_id, "hello delay:150", stream_resumable=True, stream_mode=["values"]
    )
    run_path = f"/threads/{thread_id}/runs/{run['run_id']}"
    await _wait_for_status(worker_b, thread_id, run["run_id"], {"running"})

    # Live on B, from the start, while A executes the run.
    live, joined = await asyncio.gather(
        _stream(worker_b, f"{run_path}/stream", {"Last-Event-ID": "-1"}),
        worker_b.get(f"{run_path}/join"),
    )
    assert live[0][1] == "metadata" and live[0][2]["run_id"] == run["run_id"]
    assert [name for _, name, _ in live[1:]] == ["values"] * (len(live) - 1) and len(live) >= 3
    event_ids = [event_id for event_id, _, _ in live]
    assert all(event_ids) and event_ids == sorted(event_ids) and len(set(event_ids)) == len(live)
    # /join on B answers the final values, the thread's as A recorded them.
    final_values = live[-1][2]
    assert joined.status_code == 200 and json.loads(joined.content) == final_values
    assert await _status(worker_a, thread_id, run["run_id"]) == "success"

    # Rejoin on B after an id: exactly the rest, the same bytes A streamed.
    middle = len(live) // 2
    rest = await _stream(worker_b, f"{run_path}/stream", {"Last-Event-ID": str(event_ids[middle])})
    assert rest == live[middle + 1 :]
    assert await _stream(worker_a, f"{run_path}/stream", {"Last-Event-ID": "-1"}) == live


async def test_a_run_made_on_worker_a_is_cancelled_through_worker_b(
    clients: tuple[httpx.AsyncClient, httpx.AsyncClient],
) -> None:
    worker_a, worker_b = clients
    thread_id = await _new_thread(worker_a)
    run = await _background_run(worker_a, thread_id, "hello delay:400")
    await _wait_for_status(worker_b, thread_id, run["run_id"], {"running"})
    cancelled = await worker_b.post(
        f"/threads/{thread_id}/runs/{run['run_id']}/cancel", params={"wait": "true"}
    )
    # As langgraph dev answers wait=1 (fixtures/cancel_interrupt_wait.json): 200 and {},
    # returned once A had recorded the end.
    assert (cancelled.status_code, cancelled.json()) == (200, {}), cancelled.text
    assert cancelled.headers["location"].endswith(f"/runs/{run['run_id']}/join")
    assert await _status(worker_a, thread_id, run["run_id"]) == "interrupted"
    thread = (await worker_b.get(f"/threads/{thread_id}")).json()
    assert thread["status"] == "interrupted"
    again = await worker_b.post(f"/threads/{thread_id}/runs/{run['run_id']}/cancel")
    assert again.status_code == 404


async def test_a_stream_on_worker_b_that_disconnects_with_cancel_stops_the_run_on_a(
    clients: tuple[httpx.AsyncClient, httpx.AsyncClient],
) -> None:
    worker_a, worker_b = clients
    thread_id = await _new_thread(worker_a)
    run = await _background_run(worker_a, thread_id, "hello delay:400", stream_resumable=True)
    run_path = f"/threads/{thread_id}/runs/{run['run_id']}"
    async with worker_b.stream(
        "GET", f"{run_path}/stream", params={"cancel_on_disconnect": "true"}
    ) as response:
        assert response.status_code == 200
        async for _ in response.aiter_bytes():
            break  # one chunk (an event or a heartbeat), then leave
    await _wait_for_status(worker_a, thread_id, run["run_id"], {"interrupted"})


async def test_deleting_the_thread_on_worker_b_ends_the_run_streaming_on_worker_a(
    clients: tuple[httpx.AsyncClient, httpx.AsyncClient],
) -> None:
    worker_a, worker_b = clients
    thread_id = await _new_thread(worker_a)
    body = {"assistant_id": "agent", "input": _input("hello delay:400"), "stream_mode": "values"}

    streaming = asyncio.create_task(
        _stream(worker_a, f"/threads/{thread_id}/runs/stream", body=body)
    )
    await _wait_for_human(worker_b, thread_id, "hello delay:400")
    deleted = await worker_b.delete(f"/threads/{thread_id}")
    assert deleted.status_code == 204, deleted.text
    events = await asyncio.wait_for(streaming, 30)
    # As langgraph dev ends it (fixtures/thread_deleted_mid_run.json): an error event, then EOF.
    assert events[-1][1] == "error", events
    assert events[-1][2] == {"error": "HTTPException", "message": "404: Run not found"}, events
    assert (await worker_a.get(f"/threads/{thread_id}")).status_code == 404


async def test_reject_on_worker_b_while_worker_a_runs_the_thread(
    clients: tuple[httpx.AsyncClient, httpx.AsyncClient],
) -> None:
    worker_a, worker_b = clients
    thread_id = await _new_thread(worker_a)
    first = await _background_run(worker_a, thread_id, "hello delay:200")
    body = {"assistant_id": "agent", "input": _input("hi"), "multitask_strategy": "reject"}
    refused = await worker_b.post(f"/threads/{thread_id}/runs", json=body)
    assert refused.status_code == 409, refused.text
    await _wait_for_status(worker_a, thread_id, first["run_id"], {"success"})


async def test_interrupt_and_rollback_on_worker_b_stop_the_run_on_worker_a(
    clients: tuple[httpx.AsyncClient, httpx.AsyncClient],
) -> None:
    worker_a, worker_b = clients
    thread_id = await _new_thread(worker_a)
    first = await _background_run(worker_a, thread_id, "hello delay:400")
    await _wait_for_status(worker_b, thread_id, first["run_id"], {"running"})
    # A run reads `running` a moment before its input checkpoint is written; interrupted in
    # that moment, its input is lost (a known race, on one worker too): wait past it.
    await _wait_for_human(worker_b, thread_id, "hello delay:400")
    second = await _background_run(worker_b, thread_id, "second", multitask_strategy="interrupt")
    assert await _status(worker_b, thread_id, first["run_id"]) == "interrupted"
    await _wait_for_status(worker_a, thread_id, second["run_id"], {"success"})

    third = await _background_run(worker_a, thread_id, "hello delay:400")
    await _wait_for_status(worker_b, thread_id, third["run_id"], {"running"})
    fourth = await _background_run(worker_b, thread_id, "fourth", multitask_strategy="rollback")
    # Rolled back: the run is deleted, on every worker.
    assert (await worker_a.get(f"/threads/{thread_id}/runs/{third['run_id']}")).status_code == 404
    await _wait_for_status(worker_a, thread_id, fourth["run_id"], {"success"})
    state = (await worker_a.get(f"/threads/{thread_id}/state")).json()
    humans = [m["content"] for m in state["values"]["messages"] if m["type"] == "human"]
    assert humans == ["hello delay:400", "second", "fourth"]


async def test_enqueued_runs_from_both_workers_run_one_at_a_time_in_order(
    clients: tuple[httpx.AsyncClient, httpx.AsyncClient],
) -> None:
    worker_a, worker_b = clients
    thread_id = await _new_thread(worker_a)
    texts = [f"turn {index} delay:20" for index in range(8)]
    runs = []
    for index, text in enumerate(texts):
        client = (worker_a, worker_b)[index % 2]
        runs.append(await _background_run(client, thread_id, text, multitask_strategy="enqueue"))
    for run in runs:
        await _wait_for_status(worker_b, thread_id, run["run_id"], {"success"})
    state = (await worker_b.get(f"/threads/{thread_id}/state")).json()
    humans = [m["content"] for m in state["values"]["messages"] if m["type"] == "human"]
    assert humans == texts
    # One at a time: each run's state starts from the end of the one before (a checkpoint
    # chain with no fork), so every earlier turn is in the final state exactly once.
    history = (await worker_a.post(f"/threads/{thread_id}/history", json={"limit": 1000})).json()
    parents = [entry["parent_checkpoint_id"] for entry in history]
    assert len(set(parents)) == len(parents)
    thread = (await worker_a.get(f"/threads/{thread_id}")).json()
    assert thread["status"] == "idle"


async def test_a_crowd_of_runs_created_at_once_on_both_workers_all_complete(
    clients: tuple[httpx.AsyncClient, httpx.AsyncClient],
) -> None:
    # More creations at once than either connection pool holds: a creation holding its thread
    # lock must still get the connections its writes need.
    worker_a, worker_b = clients

    async def _one(client: httpx.AsyncClient) -> tuple[int, Any]:
        thread_id = await _new_thread(client)
        body = {"assistant_id": "agent", "input": _input("hi")}
        response = await client.post(f"/threads/{thread_id}/runs/wait", json=body)
        return response.status_code, json.loads(response.content)

    outcomes = await asyncio.gather(*(_one((worker_a, worker_b)[i % 2]) for i in range(80)))
    assert [status for status, _ in outcomes] == [200] * 80
    assert all(values["messages"][-1]["type"] == "ai" for _, values in outcomes)


async def _thread_stream_until_done(
    client: httpx.AsyncClient, thread_id: str, opened: asyncio.Event
) -> list[tuple[str | None, str, Any]]:
    """The thread stream's events up to its first ``run_done``; ``opened`` is set once the
    stream answered (it follows runs created from then on)."""
    lines: list[str] = []
    async with client.stream("GET", f"/threads/{thread_id}/stream") as response:
        assert response.status_code == 200
        opened.set()
        async for line in response.aiter_lines():
            lines.append(line)
            done = any(seen.startswith("data:") and '"run_done"' in seen for seen in lines)
            if done and not line:
                break  # the blank line ending the run_done event
    parsed = parse_stream(("\n".join(lines) + "\n\n").encode())
    return [(event.id, event.event, json.loads(event.data)) for event in parsed.events]


async def test_a_thread_stream_on_worker_b_follows_a_run_made_on_worker_a(
    clients: tuple[httpx.AsyncClient, httpx.AsyncClient],
) -> None:
    worker_a, worker_b = clients
    thread_id = await _new_thread(worker_a)
    opened = asyncio.Event()
    following = asyncio.create_task(_thread_stream_until_done(worker_b, thread_id, opened))
    await asyncio.wait_for(opened.wait(), 10)
    run = await _background_run(worker_a, thread_id, "hello delay:50", stream_mode=["values"])
    events = await asyncio.wait_for(following, 30)
    assert events[0][1] == "metadata" and events[0][2]["run_id"] == run["run_id"], events
    assert events[-1][1:] == ("metadata", {"status": "run_done", "run_id": run["run_id"]})
    values = [payload for _, name, payload in events if name == "values"]
    assert values and values[-1]["messages"][-1]["type"] == "ai", events
    event_ids = [event_id or "" for event_id, _, _ in events]
    assert all(event_ids) and event_ids == sorted(event_ids), event_ids
    assert await _status(worker_a, thread_id, run["run_id"]) == "success"


def _kill_9(process: ServerProcess) -> None:
    assert process.process is not None
    os.killpg(process.process.pid, signal.SIGKILL)
    process.process.wait(timeout=10)


async def test_a_worker_killed_mid_run_has_its_run_settled_by_a_live_worker(
    postgres_url: str, fake_llm_url: str
) -> None:
    worker_a = _start_server(postgres_url, fake_llm_url)
    try:
        worker_b = _start_server(postgres_url, fake_llm_url)
        try:
            async with (
                httpx.AsyncClient(base_url=worker_a.url, timeout=TIMEOUT) as client_a,
                httpx.AsyncClient(base_url=worker_b.url, timeout=TIMEOUT) as client_b,
            ):
                thread_id = await _new_thread(client_a)
                run = await _background_run(
                    client_a,
                    thread_id,
                    "hello delay:400",
                    stream_resumable=True,
                    stream_mode=["values", "messages-tuple"],
                )
                run_path = f"/threads/{thread_id}/runs/{run['run_id']}"
                # Followed live on B while A executes it; A dies once some chunks are out.
                lines: list[str] = []
                async with client_b.stream(
                    "GET", f"{run_path}/stream", headers={"Last-Event-ID": "-1"}
                ) as response:
                    assert response.status_code == 200
                    killed_at = None
                    async for line in response.aiter_lines():
                        lines.append(line)
                        chunks = sum(seen.startswith("event: messages") for seen in lines)
                        if killed_at is None and chunks >= 2:
                            await asyncio.sleep(0.3)  # the event log flushes what it has
                            _kill_9(worker_a)
                            killed_at = time.monotonic()
                assert killed_at is not None, "the run never streamed a message chunk"
                # The live stream ends with the error saying the run died, in bounded time.
                assert time.monotonic() - killed_at < 20
                live = parse_stream(("\n".join(lines) + "\n\n").encode()).events
                assert [event.event for event in live][-1] == "error", lines[-6:]
                assert "died" in json.loads(live[-1].data)["message"]

                assert await _status(client_b, thread_id, run["run_id"]) == "error"
                thread = (await client_b.get(f"/threads/{thread_id}")).json()
                assert thread["status"] == "error", thread
                assert "died" in thread["error"]["message"], thread
                rejoined = await asyncio.wait_for(
                    _stream(client_b, f"{run_path}/stream", {"Last-Event-ID": "-1"}), 10
                )
                names = [name for _, name, _ in rejoined]
                assert names[0] == "metadata" and names[-1] == "error", names
                assert names.count("error") == 1, names
                assert [event_id for event_id, _, _ in rejoined] == [e.id for e in live]
                # The thread takes new runs on the live worker.
                again = await client_b.post(
                    f"/threads/{thread_id}/runs/wait",
                    json={"assistant_id": "agent", "input": _input("after the crash")},
                )
                assert again.status_code == 200, again.text
                thread = (await client_b.get(f"/threads/{thread_id}")).json()
                assert thread["status"] == "idle", thread
        finally:
            worker_b.stop()
    finally:
        worker_a.stop()


def test_the_whole_suite_passes_against_two_granian_workers_on_postgres(
    postgres_url: str, fake_llm_url: str, tmp_path: Path
) -> None:
    server = _start_server(postgres_url, fake_llm_url, workers=2)
    try:
        report_path = tmp_path / "report.json"
        completed = subprocess.run(
            [
                sys.executable,
                "-m",
                "conformance.cli",
                "check",
                "--target",
                server.url,
                "--llm-url",
                fake_llm_url,
                "--report-json",
                str(report_path),
            ],
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
            cwd=PROJECT_ROOT,
        )
    finally:
        server.stop()
    report = json.loads(report_path.read_text())
    assert completed.returncode == 0, completed.stdout[-6000:] + completed.stderr[-3000:]
    assert report["outcome"] == "conformant"
    assert len(report["scenarios"]) >= 59
