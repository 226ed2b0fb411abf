"""The reference server on its SQLite default under the failures a deployment meets: kill -9
mid-run, SIGTERM with streams open, a burst of disconnect-cancels, a long ``enqueue`` queue
on one thread. Every loop is bounded; every server listens on loopback and is stopped."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from conformance.processes import ServerProcess
from conformance.sse.parser import ParsedStream, parse_stream

SETTLE_SECONDS = 30.0
DISCONNECTS = 200
ENQUEUED_RUNS = 100

StartServer = Callable[[Path], ServerProcess]
"""The ``start_server`` fixture (conftest.py): a started server on that SQLite file."""

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest.fixture
def database(tmp_path: Path) -> Path:
    return tmp_path / "state.sqlite"


@pytest.fixture
def server(database: Path, start_server: StartServer) -> ServerProcess:
    return start_server(database)


def _user(text: str) -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": text}]}


def _slow(delay_ms: int) -> dict[str, Any]:
    """Input the fake LLM answers slowly: ``delay_ms`` before each of its ~10 chunks."""
    return _user(f"hello delay:{delay_ms}")


async def _new_thread(client: httpx.AsyncClient) -> str:
    response = await client.post("/threads", json={})
    assert response.status_code == 200, response.text
    return str(response.json()["thread_id"])


async def _run_status(client: httpx.AsyncClient, thread_id: str, run_id: str) -> str:
    response = await client.get(f"/threads/{thread_id}/runs/{run_id}")
    assert response.status_code == 200, f"run {run_id} cannot be read back: {response.text}"
    return str(response.json()["status"])


async def _settled(
    client: httpx.AsyncClient, runs: list[tuple[str, str]], timeout: float = SETTLE_SECONDS
) -> dict[str, str]:
    """Each run's status once none is pending or running (tests only poll; the server never
    does), or the statuses at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        statuses = {
            run_id: await _run_status(client, thread_id, run_id) for thread_id, run_id in runs
        }
        active = [s for s in statuses.values() if s in ("pending", "running")]
        if not active or time.monotonic() > deadline:
            return statuses
        await asyncio.sleep(0.2)


async def _read_stream(
    client: httpx.AsyncClient, method: str, path: str, **kwargs: Any
) -> tuple[bytes, ParsedStream]:
    async with client.stream(method, path, **kwargs) as response:
        assert response.status_code == 200, (await response.aread()).decode()
        body = await response.aread()
    return body, parse_stream(body)


def _kill_9(process: ServerProcess) -> None:
    assert process.process is not None
    os.killpg(process.process.pid, signal.SIGKILL)
    process.process.wait(timeout=10)


async def test_kill_9_mid_run_leaves_a_dead_run_its_thread_and_stream_consistent(
    database: Path, start_server: StartServer
) -> None:
    first = start_server(database)
    try:
        async with httpx.AsyncClient(base_url=first.url, timeout=30) as client:
            done_thread = await _new_thread(client)
            await _read_stream(
                client,
                "POST",
                f"/threads/{done_thread}/runs/stream",
                json={"assistant_id": "agent", "input": _user("kept")},
            )
            thread_id = await _new_thread(client)
            created = await client.post(
                f"/threads/{thread_id}/runs",
                json={
                    "assistant_id": "agent",
                    "input": _slow(400),
                    "stream_mode": ["values", "messages-tuple"],
                    "stream_resumable": True,
                },
            )
            assert created.status_code == 200, created.text
            run_id = created.json()["run_id"]
            # Some events recorded, the run still going: then the process dies.
            deadline = time.monotonic() + 20
            async with client.stream(
                "GET",
                f"/threads/{thread_id}/runs/{run_id}/stream",
                headers={"Last-Event-ID": "-1"},
            ) as response:
                seen = 0
                async for line in response.aiter_lines():
                    seen += line.startswith("event: messages")
                    if seen >= 2 or time.monotonic() > deadline:
                        break
            assert seen >= 2, "the run never streamed a message chunk"
            await asyncio.sleep(0.3)  # let the event log flush what was published
            _kill_9(first)
    finally:
        first.__exit__(None, None, None)

    second = start_server(database)
    try:
        async with httpx.AsyncClient(base_url=second.url, timeout=30) as client:
            run = (await client.get(f"/threads/{thread_id}/runs/{run_id}")).json()
            assert run["status"] == "error", run
            thread = (await client.get(f"/threads/{thread_id}")).json()
            assert thread["status"] == "error", thread
            assert "server" in thread["error"]["message"], thread["error"]

            body, parsed = await asyncio.wait_for(
                _read_stream(
                    client,
                    "GET",
                    f"/threads/{thread_id}/runs/{run_id}/stream",
                    headers={"Last-Event-ID": "-1"},
                ),
                10,
            )
            names = [event.event for event in parsed.events]
            assert names[0] == "metadata", names
            assert "messages" in {name.split("/")[0] for name in names}, names
            assert names[-1] == "error", names
            assert names.count("error") == 1, names
            assert "died" in json.loads(parsed.events[-1].data)["message"]
            assert body.endswith(b"\r\n\r\n")
            ids = [event.id or "" for event in parsed.events]
            assert all(ids) and ids == sorted(ids) and len(set(ids)) == len(ids), ids

            # Nothing committed is lost, and the thread takes new runs.
            kept = (await client.get(f"/threads/{done_thread}")).json()
            assert kept["values"]["messages"][0]["content"] == "kept"
            again = await client.post(
                f"/threads/{thread_id}/runs/wait",
                json={"assistant_id": "agent", "input": _user("after the crash")},
            )
            assert again.status_code == 200, again.text
            thread = (await client.get(f"/threads/{thread_id}")).json()
            assert thread["status"] == "idle", thread
    finally:
        second.__exit__(None, None, None)


async def test_sigterm_with_streams_open_ends_them_cleanly_and_settles_the_runs(
    database: Path, start_server: StartServer
) -> None:
    server = start_server(database)
    streams = 6
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
            threads = [await _new_thread(client) for _ in range(streams)]

            async def _one(thread_id: str, started: asyncio.Event) -> tuple[bytes, str]:
                body = b""
                async with client.stream(
                    "POST",
                    f"/threads/{thread_id}/runs/stream",
                    json={"assistant_id": "agent", "input": _slow(500)},
                ) as response:
                    async for chunk in response.aiter_bytes():
                        body += chunk
                        if b"event: metadata" in body:
                            started.set()
                run_id = json.loads(parse_stream(body).events[0].data)["run_id"]
                return body, run_id

            started = [asyncio.Event() for _ in threads]
            tasks = [
                asyncio.create_task(_one(thread_id, event))
                for thread_id, event in zip(threads, started, strict=True)
            ]
            await asyncio.wait_for(asyncio.gather(*(event.wait() for event in started)), 20)
            assert server.process is not None
            stopping = time.monotonic()
            os.killpg(server.process.pid, signal.SIGTERM)
            results = await asyncio.wait_for(asyncio.gather(*tasks), 20)
            await asyncio.to_thread(server.process.wait, 20)
            took = time.monotonic() - stopping
            for body, _ in results:
                assert body.endswith(b"\r\n\r\n"), body[-120:]
                assert parse_stream(body).events[0].event == "metadata"
            assert took < 20
    finally:
        server.__exit__(None, None, None)

    restarted = start_server(database)
    try:
        async with httpx.AsyncClient(base_url=restarted.url, timeout=30) as client:
            for thread_id, (_, run_id) in zip(threads, results, strict=True):
                status = await _run_status(client, thread_id, run_id)
                assert status in ("interrupted", "success"), status
                thread = (await client.get(f"/threads/{thread_id}")).json()
                assert thread["status"] in ("interrupted", "idle"), thread
    finally:
        restarted.__exit__(None, None, None)


async def test_200_rapid_disconnect_cancels_all_land(server: ServerProcess) -> None:
    limits = httpx.Limits(max_connections=50)
    async with httpx.AsyncClient(base_url=server.url, timeout=60, limits=limits) as client:
        threads = [await _new_thread(client) for _ in range(DISCONNECTS)]

        async def _disconnect(thread_id: str) -> tuple[str, str]:
            async with client.stream(
                "POST",
                f"/threads/{thread_id}/runs/stream",
                json={
                    "assistant_id": "agent",
                    "input": _slow(200),
                    "on_disconnect": "cancel",
                },
            ) as response:
                assert response.status_code == 200
                async for line in response.aiter_lines():
                    if line.startswith("data: "):
                        return thread_id, json.loads(line[len("data: ") :])["run_id"]
            raise AssertionError("the stream ended before its metadata event")

        runs = await asyncio.wait_for(asyncio.gather(*(_disconnect(t) for t in threads)), 60)
        statuses = await _settled(client, runs)
        counts = {
            status: list(statuses.values()).count(status) for status in set(statuses.values())
        }
        assert set(statuses.values()) <= {"interrupted", "success"}, counts
        busy = [
            thread_id
            for thread_id in threads
            if (await client.get(f"/threads/{thread_id}")).json()["status"] == "busy"
        ]
        assert not busy, f"{len(busy)} threads still busy"


async def test_100_enqueued_runs_on_one_thread_all_run_in_order(server: ServerProcess) -> None:
    async with httpx.AsyncClient(base_url=server.url, timeout=60) as client:
        thread_id = await _new_thread(client)
        runs = []
        failures = []
        for index in range(ENQUEUED_RUNS):
            response = await client.post(
                f"/threads/{thread_id}/runs",
                json={
                    "assistant_id": "agent",
                    "input": _user(f"message {index}"),
                    "multitask_strategy": "enqueue",
                },
            )
            if response.status_code != 200:
                failures.append(f"{index}: {response.status_code} {response.text[:200]}")
            else:
                runs.append((thread_id, response.json()["run_id"]))
        assert not failures, failures
        statuses = await _settled(client, runs, timeout=120)
        assert set(statuses.values()) == {"success"}, statuses
        thread = (await client.get(f"/threads/{thread_id}")).json()
        assert thread["status"] == "idle", thread
        asked = [
            message["content"]
            for message in thread["values"]["messages"]
            if message["type"] == "human"
        ]
        assert asked == [f"message {index}" for index in range(ENQUEUED_RUNS)]
        assert len(thread["values"]["messages"]) == 2 * ENQUEUED_RUNS
