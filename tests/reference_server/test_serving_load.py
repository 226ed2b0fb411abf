"""Many concurrent SSE streams over keep-alive connections through granian: not one may be
cut short. (hypercorn dropped 0.5-2 % of such streams; this is the test that would notice.)"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from conformance.processes import ServerProcess, free_port, python_module

TINY_GRAPHS = Path(__file__).parent / "routes" / "tiny_graphs.py"
CLIENTS = 20
STREAMS_PER_CLIENT = 10


@pytest.fixture(scope="module")
def server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    directory = tmp_path_factory.mktemp("load")
    config_path = directory / "langgraph.json"
    config_path.write_text(json.dumps({"graphs": {"counter": f"{TINY_GRAPHS}:counter"}}))
    port = free_port()
    argv = python_module(
        "reference_server",
        "--config",
        str(config_path),
        "--port",
        str(port),
        "--in-memory",
        "--max-concurrent-runs",
        "8",
        "--log-level",
        "warning",
    )
    with ServerProcess(argv, port=port, name="reference-server") as server:
        yield server.url


async def _stream_once(client: httpx.AsyncClient) -> list[str]:
    """The event names of one stateless run streamed to its end."""
    names: list[str] = []
    async with client.stream(
        "POST",
        "/runs/stream",
        json={"assistant_id": "counter", "input": {"items": []}, "stream_mode": ["values"]},
    ) as response:
        assert response.status_code == 200
        body = b""
        async for chunk in response.aiter_bytes():
            body += chunk
    for block in body.split(b"\r\n\r\n"):
        for line in block.split(b"\r\n"):
            if line.startswith(b"event: "):
                names.append(line[len(b"event: ") :].decode())
    assert body.endswith(b"\r\n\r\n"), body[-80:]
    return names


async def _client_session(base_url: str) -> list[list[str]]:
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as client:
        return [await _stream_once(client) for _ in range(STREAMS_PER_CLIENT)]


async def test_no_stream_is_dropped_under_concurrency(server_url: str) -> None:
    sessions = await asyncio.gather(*(_client_session(server_url) for _ in range(CLIENTS)))
    streams = [names for session in sessions for names in session]
    assert len(streams) == CLIENTS * STREAMS_PER_CLIENT
    expected = ["metadata", "values", "values", "values"]
    broken = [names for names in streams if names != expected]
    assert not broken, f"{len(broken)} of {len(streams)} streams differ, e.g. {broken[:3]}"
