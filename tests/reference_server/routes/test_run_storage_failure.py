"""A run whose events cannot be stored fails visibly: an ``error`` event on its stream, the run
and its thread ``error``; never a stream that ends as if all were well, events lost."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence

import pytest
from quart import Quart
from quart.typing import TestClientProtocol as Client

from reference_server import context
from reference_server.storage.base import StoredEvent


async def test_a_run_whose_events_cannot_be_stored_ends_error(
    started_app: Quart, client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    storage = started_app.config[context.STORAGE_KEY]

    async def _failing_append(run_id: str, events: Sequence[StoredEvent]) -> None:
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(storage, "append_events", _failing_append)
    thread_id = (await (await client.post("/threads", json={})).get_json())["thread_id"]
    response = await client.post(
        f"/threads/{thread_id}/runs/stream",
        json={"assistant_id": "counter", "input": {"items": []}, "stream_resumable": True},
    )
    body = await response.get_data(as_text=True)
    lines = body.splitlines()
    names = [line[len("event: ") :] for line in lines if line.startswith("event: ")]
    payloads = [json.loads(line[len("data: ") :]) for line in lines if line.startswith("data: ")]
    assert names[0] == "metadata" and names[-1] == "error", names
    error = payloads[-1]
    assert error["error"] == "StorageError" and "disk I/O error" in error["message"], error
    run_id = payloads[0]["run_id"]
    run = await (await client.get(f"/threads/{thread_id}/runs/{run_id}")).get_json()
    assert run["status"] == "error", run
    thread = await (await client.get(f"/threads/{thread_id}")).get_json()
    assert thread["status"] == "error" and thread["error"] == error, thread
