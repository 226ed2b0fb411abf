"""Small HTTP helpers shared by the run tests (threads, streams, polling a run's status)."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from conformance.processes import ServerProcess, free_port, python_module
from conformance.sse.parser import ParsedStream, parse_stream

WEATHER_QUESTION = "What is the weather in Paris?"
PROJECT_ROOT = Path(__file__).resolve().parents[3]
CONFIG_PATH = PROJECT_ROOT / "langgraph.json"
HEARTBEAT_SECONDS = 0.5


def start_reference_server(
    database: Path | None, fake_llm_url: str, *, heartbeat_seconds: float = HEARTBEAT_SECONDS
) -> ServerProcess:
    """A started reference server serving the project's langgraph.json on a free port."""
    port = free_port()
    storage_flags = ["--database", str(database)] if database else ["--in-memory"]
    argv = python_module(
        "reference_server",
        "--config",
        str(CONFIG_PATH),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        *storage_flags,
        "--heartbeat-seconds",
        str(heartbeat_seconds),
        "--max-concurrent-runs",
        "8",
    )
    return ServerProcess(
        argv,
        port=port,
        env={"LLM_BASE_URL": fake_llm_url, "LANGSMITH_TRACING": "false"},
        cwd=PROJECT_ROOT,
        name="reference-server",
        start_timeout=60.0,
    ).start()


def user_input(text: str) -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": text}]}


def slow_input(delay_ms: int = 300) -> dict[str, Any]:
    """Input the fake LLM answers slowly (``delay_ms`` before each of ~10 chunks)."""
    return user_input(f"hello delay:{delay_ms}")


@dataclass
class StreamResult:
    response: httpx.Response
    body: bytes
    parsed: ParsedStream

    @property
    def names(self) -> list[str]:
        return [event.event for event in self.parsed.events]

    def payloads(self, name: str) -> list[Any]:
        return [json.loads(event.data) for event in self.parsed.events if event.event == name]

    @property
    def ids(self) -> list[str | None]:
        return [event.id for event in self.parsed.events]


async def new_thread(client: httpx.AsyncClient) -> str:
    response = await client.post("/threads", json={})
    response.raise_for_status()
    return str(response.json()["thread_id"])


async def stream(
    client: httpx.AsyncClient,
    path: str,
    body: dict[str, Any] | None = None,
    *,
    method: str = "POST",
    headers: dict[str, str] | None = None,
) -> StreamResult:
    async with client.stream(method, path, json=body, headers=headers) as response:
        body_bytes = await response.aread()
    return StreamResult(response, body_bytes, parse_stream(body_bytes))


async def wait_for_status(
    client: httpx.AsyncClient, thread_id: str, run_id: str, wanted: set[str], timeout: float = 20
) -> dict[str, Any]:
    """Polls a run until its status is one of ``wanted`` (tests only; the server never polls)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        response = await client.get(f"/threads/{thread_id}/runs/{run_id}")
        if response.status_code == 200 and response.json()["status"] in wanted:
            return dict(response.json())
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"run {run_id} never reached {wanted}: {response.text}")
        await asyncio.sleep(0.05)


async def create_background_run(
    client: httpx.AsyncClient, thread_id: str, body: dict[str, Any]
) -> dict[str, Any]:
    response = await client.post(f"/threads/{thread_id}/runs", json=body)
    assert response.status_code == 200, response.text
    return dict(response.json())
