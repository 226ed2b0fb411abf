"""The SQLite backend's own promise: every statement runs on the event loop's thread, whoever
calls, so none runs beside another's transaction (``storage/sqlite.py``)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from langgraph.checkpoint.base import empty_checkpoint

from reference_server.storage.sqlite import SqliteStorage


@pytest.fixture
async def storage(tmp_path: Path) -> AsyncIterator[SqliteStorage]:
    opened = SqliteStorage(tmp_path / "state.sqlite")
    await opened.open()
    try:
        yield opened
    finally:
        await opened.close()


def _record_statement_threads(storage: SqliteStorage) -> list[int]:
    threads: list[int] = []
    storage._db.set_trace_callback(lambda _statement: threads.append(threading.get_ident()))
    return threads


async def test_sync_calls_from_a_graph_thread_run_on_the_loop(storage: SqliteStorage) -> None:
    # A graph's synchronous node runs in a worker thread and may use the store or the
    # checkpointer there, while the loop writes runs and threads.
    threads = _record_statement_threads(storage)
    config = {"configurable": {"thread_id": "t", "checkpoint_ns": ""}}

    def node_in_a_worker_thread() -> None:
        for index in range(20):
            storage.store.put(("notes",), f"k{index}", {"v": index})
        storage.checkpointer.put(config, empty_checkpoint(), {}, {})

    loop_writes = [
        storage.put_thread({"thread_id": f"t{index}", "metadata": {}, "status": "idle"})
        for index in range(20)
    ]
    await asyncio.gather(asyncio.to_thread(node_in_a_worker_thread), *loop_writes)

    assert set(threads) == {threading.get_ident()}
    assert len(await storage.store.asearch(("notes",), limit=50)) == 20
    assert await storage.checkpointer.aget_tuple(config) is not None
    assert len(list(await asyncio.to_thread(storage.checkpointer.list, config))) == 1


async def test_async_calls_run_on_the_loop_without_a_thread_hop(storage: SqliteStorage) -> None:
    threads = _record_statement_threads(storage)
    await storage.put_thread({"thread_id": "t", "metadata": {}, "status": "idle"})
    await storage.store.aput(("notes",), "k", {"v": 1})
    await storage.checkpointer.aput(
        {"configurable": {"thread_id": "t", "checkpoint_ns": ""}}, empty_checkpoint(), {}, {}
    )
    assert threads and set(threads) == {threading.get_ident()}


async def test_a_transaction_left_open_does_not_block_the_next_write(
    storage: SqliteStorage,
) -> None:
    # As a library statement that failed after its implicit BEGIN would leave it.
    storage._db.execute("INSERT INTO rs_threads (thread_id, data) VALUES ('left', x'7b7d')")
    assert storage._db.in_transaction
    await storage.put_thread({"thread_id": "t", "metadata": {}, "status": "idle"})
    assert await storage.get_thread("t", None) is not None
    assert await storage.get_thread("left", None) is None
