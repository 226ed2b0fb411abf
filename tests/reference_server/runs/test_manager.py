"""The run manager in-process, on memory storage whose writes the test can hold: a cancel that
reaches a run while its end is being recorded still lands.

From another worker a cancel takes a while to arrive (a query, a NOTIFY, the other event
loop), so it often reaches a run that has finished its graph and is recording its end. A
rollback must still delete the run, and a deleted thread must still end its stream with the
error langgraph dev sends (``--workers 2`` failed on both, now and then).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import orjson
import pytest

from reference_server.graphs import GraphRegistry
from reference_server.resources import ensure_system_assistants
from reference_server.runs.manager import (
    CANCEL_REASON_MULTITASK,
    CANCEL_REASON_THREAD_DELETED,
    RUN_NOT_FOUND_ERROR,
    RunHandle,
    RunManager,
    RunOrigin,
)
from reference_server.runs.request import RunCreate
from reference_server.settings import Settings
from reference_server.storage.base import Record, StoredEvent
from reference_server.storage.memory import MemoryStorage

CONFIG_PATH = Path(__file__).resolve().parents[3] / "langgraph.json"
ORIGIN = RunOrigin(owner=None, headers={}, api_url="http://127.0.0.1:1")


class HeldEndStorage(MemoryStorage):
    """Memory storage that holds the write of a run's final status until ``release``."""

    def __init__(self) -> None:
        super().__init__()
        self.ending = asyncio.Event()
        self._released = asyncio.Event()

    def release(self) -> None:
        self._released.set()

    async def put_run(self, run: Record) -> None:
        if run.get("status") == "success":
            self.ending.set()
            await self._released.wait()
        await super().put_run(run)


@pytest.fixture
async def manager() -> AsyncIterator[RunManager]:
    storage = HeldEndStorage()
    graphs = GraphRegistry(CONFIG_PATH)
    graphs.load()
    graphs.attach(storage.checkpointer, storage.store)
    await ensure_system_assistants(storage, graphs)
    run_manager = RunManager(storage, graphs, Settings(config_path=CONFIG_PATH))
    await run_manager.start()
    try:
        yield run_manager
    finally:
        storage.release()
        await run_manager.stop()


async def _run_held_at_its_end(manager: RunManager) -> tuple[RunHandle, HeldEndStorage]:
    storage = manager.storage
    assert isinstance(storage, HeldEndStorage)
    body = RunCreate(
        assistant_id="custom_events",
        input={"messages": [{"role": "user", "content": "hi"}]},
        stream_mode=["values"],
        stream_resumable=True,
        on_completion="keep",
    )
    handle = await manager.create_run(body, thread_id=None, origin=ORIGIN)
    await asyncio.wait_for(storage.ending.wait(), 30)
    return handle, storage


async def _events(handle: RunHandle) -> list[StoredEvent]:
    return [event async for event in handle.log.listen("-1")]


async def test_a_rollback_arriving_while_the_end_is_recorded_still_deletes_the_run(
    manager: RunManager,
) -> None:
    handle, storage = await _run_held_at_its_end(manager)
    # As a cancel request from another worker arrives (manager._cancel_requested_elsewhere).
    manager._cancel_requested_elsewhere(handle.run_id, "rollback", CANCEL_REASON_MULTITASK)
    storage.release()
    await asyncio.wait_for(handle.finished.wait(), 30)
    assert await storage.get_run(handle.run_id, None) is None


async def test_a_thread_deletion_arriving_while_the_end_is_recorded_ends_the_stream_with_404(
    manager: RunManager,
) -> None:
    handle, storage = await _run_held_at_its_end(manager)
    manager._cancel_requested_elsewhere(handle.run_id, "interrupt", CANCEL_REASON_THREAD_DELETED)
    storage.release()
    await asyncio.wait_for(handle.finished.wait(), 30)
    events = await _events(handle)
    assert events[-1].event == "error", [event.event for event in events]
    assert orjson.loads(events[-1].data) == RUN_NOT_FOUND_ERROR
