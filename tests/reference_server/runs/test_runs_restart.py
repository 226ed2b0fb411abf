"""Durability across a restart on the same SQLite file: resumable replay of finished runs,
runs the stop cut short settled (never left ``running``), thread state kept."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest
from run_helpers import (
    create_background_run,
    new_thread,
    slow_input,
    start_reference_server,
    stream,
    user_input,
    wait_for_status,
)

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_replay_and_settled_runs_after_a_restart(tmp_path: Path, fake_llm_url: str) -> None:
    database = tmp_path / "state.sqlite"
    first_server = start_reference_server(database, fake_llm_url)
    try:
        async with httpx.AsyncClient(base_url=first_server.url, timeout=30) as client:
            thread_id = await new_thread(client)
            original = await stream(
                client,
                f"/threads/{thread_id}/runs/stream",
                {
                    "assistant_id": "custom_events",
                    "input": user_input("hi ü"),
                    "stream_mode": ["values", "custom"],
                    "stream_resumable": True,
                },
            )
            finished_run_id = original.payloads("metadata")[0]["run_id"]
            busy_thread_id = await new_thread(client)
            cut_short = await create_background_run(
                client,
                busy_thread_id,
                {
                    "assistant_id": "weather_agent",
                    "input": slow_input(500),
                    "stream_resumable": True,
                },
            )
            await wait_for_status(client, busy_thread_id, cut_short["run_id"], {"running"})
    finally:
        first_server.__exit__(None, None, None)

    second_server = start_reference_server(database, fake_llm_url)
    try:
        async with httpx.AsyncClient(base_url=second_server.url, timeout=30) as client:
            path = f"/threads/{thread_id}/runs/{finished_run_id}/stream"
            replayed = await asyncio.wait_for(
                stream(client, path, method="GET", headers={"Last-Event-ID": "-1"}), 10
            )
            assert replayed.body == original.body.replace(b": heartbeat\r\n\r\n", b"")
            after_first = await asyncio.wait_for(
                stream(client, path, method="GET", headers={"Last-Event-ID": original.ids[0]}), 10
            )
            assert after_first.ids == original.ids[1:]

            settled = (
                await client.get(f"/threads/{busy_thread_id}/runs/{cut_short['run_id']}")
            ).json()
            assert settled["status"] in {"interrupted", "error"}
            rejoined = await asyncio.wait_for(
                stream(
                    client,
                    f"/threads/{busy_thread_id}/runs/{cut_short['run_id']}/stream",
                    method="GET",
                    headers={"Last-Event-ID": "-1"},
                ),
                10,
            )
            assert rejoined.names[:1] == ["metadata"]

            thread = (await client.get(f"/threads/{thread_id}")).json()
            assert thread["values"]["messages"][0]["content"] == "hi ü"
            again = await stream(
                client,
                f"/threads/{thread_id}/runs/stream",
                {"assistant_id": "custom_events", "input": user_input("again")},
            )
            assert len(again.payloads("values")[-1]["messages"]) == 4
    finally:
        second_server.__exit__(None, None, None)
