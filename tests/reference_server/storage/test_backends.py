"""Every storage backend against the one protocol: same answers, and SQLite and Postgres keep
everything across a close and reopen."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from langgraph.checkpoint.base import empty_checkpoint

from reference_server.storage.base import Storage, StoredEvent
from reference_server.storage.memory import MemoryStorage
from reference_server.storage.postgres import PostgresStorage
from reference_server.storage.sqlite import SqliteStorage


def _assistant(
    assistant_id: str, *, owner: str | None = None, version: int = 1, **fields: object
) -> dict:
    metadata = dict(fields.pop("metadata", {}) or {})  # type: ignore[call-overload]
    if owner:
        metadata["owner"] = owner
    return {
        "assistant_id": assistant_id,
        "graph_id": fields.pop("graph_id", "agent"),
        "config": {},
        "context": {},
        "metadata": metadata,
        "name": fields.pop("name", "Untitled"),
        "created_at": fields.pop("created_at", "2026-01-01T00:00:00+00:00"),
        "updated_at": fields.pop("updated_at", f"2026-01-0{version}T00:00:00+00:00"),
        "version": version,
        "description": None,
    }


def _thread(thread_id: str, *, owner: str | None = None, **fields: object) -> dict:
    metadata = dict(fields.pop("metadata", {}) or {})  # type: ignore[call-overload]
    if owner:
        metadata["owner"] = owner
    return {
        "thread_id": thread_id,
        "created_at": fields.pop("created_at", "2026-01-01T00:00:00+00:00"),
        "updated_at": "2026-01-01T00:00:00+00:00",
        "state_updated_at": "2026-01-01T00:00:00+00:00",
        "metadata": metadata,
        "status": fields.pop("status", "idle"),
        "config": {},
        "values": fields.pop("values", None),
    }


def _run(run_id: str, thread_id: str, *, status: str = "pending", created_at: str) -> dict:
    return {
        "run_id": run_id,
        "thread_id": thread_id,
        "assistant_id": "a",
        "created_at": created_at,
        "updated_at": created_at,
        "status": status,
        "metadata": {},
        "kwargs": {},
        "multitask_strategy": "enqueue",
    }


BackendFactory = Callable[[pytest.FixtureRequest, Path], Storage]
BACKENDS: dict[str, BackendFactory] = {
    "memory": lambda _, __: MemoryStorage(),
    "sqlite": lambda _, directory: SqliteStorage(directory / "state.sqlite"),
    # A database of its own in a real cluster started for the session.
    "postgres": lambda request, _: PostgresStorage(request.getfixturevalue("postgres_url")),
}


@pytest.fixture(params=sorted(BACKENDS))
async def storage(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Storage]:
    backend = BACKENDS[request.param](request, tmp_path)
    await backend.open()
    try:
        yield backend
    finally:
        await backend.close()


async def test_assistant_versions_are_immutable_history(storage: Storage) -> None:
    await storage.put_assistant(_assistant("a1", name="one"))
    await storage.put_assistant(_assistant("a1", version=2, name="two", metadata={"k": 1}))
    # Setting version 1 as latest again must not rewrite its history entry.
    await storage.put_assistant(_assistant("a1", version=1, name="changed", updated_at="x"))
    versions = await storage.list_assistant_versions("a1", None)
    assert [(entry["version"], entry["name"]) for entry in versions] == [(2, "two"), (1, "one")]
    assert versions[1]["created_at"] == "2026-01-01T00:00:00+00:00"
    filtered = await storage.list_assistant_versions("a1", None, metadata={"k": 1})
    assert [entry["version"] for entry in filtered] == [2]
    current = await storage.get_assistant("a1", None)
    assert current is not None and current["name"] == "changed"


async def test_assistant_search_filters_sorts_and_counts(storage: Storage) -> None:
    await storage.put_assistant(_assistant("a1", graph_id="g1", created_at="2026-01-01"))
    await storage.put_assistant(
        _assistant("a2", graph_id="g2", created_at="2026-01-02", metadata={"x": 1})
    )
    await storage.put_assistant(
        _assistant("a3", graph_id="g2", created_at="2026-01-03", name="Nice Bot")
    )
    found, total = await storage.search_assistants(None, graph_id="g2")
    assert [item["assistant_id"] for item in found] == ["a3", "a2"] and total == 2
    found, total = await storage.search_assistants(None, metadata={"x": 1})
    assert [item["assistant_id"] for item in found] == ["a2"] and total == 1
    found, _ = await storage.search_assistants(None, name="nice")
    assert [item["assistant_id"] for item in found] == ["a3"]
    found, total = await storage.search_assistants(None, limit=1, offset=1, sort_order="asc")
    assert [item["assistant_id"] for item in found] == ["a2"] and total == 3
    with pytest.raises(ValueError, match="sort_by"):
        await storage.search_assistants(None, sort_by="bogus")


async def test_owners_see_only_their_records_and_unowned_assistants(storage: Storage) -> None:
    await storage.put_assistant(_assistant("system"))
    await storage.put_assistant(_assistant("mine", owner="alice"))
    await storage.put_assistant(_assistant("theirs", owner="bob"))
    await storage.put_thread(_thread("t-alice", owner="alice"))
    await storage.put_thread(_thread("t-bob", owner="bob"))
    await storage.put_run(_run("r-bob", "t-bob", created_at="2026-01-01"))

    found, _ = await storage.search_assistants("alice")
    assert sorted(item["assistant_id"] for item in found) == ["mine", "system"]
    assert await storage.get_assistant("theirs", "alice") is None
    assert await storage.delete_assistant("theirs", "alice") is False
    assert await storage.get_thread("t-bob", "alice") is None
    assert await storage.delete_thread("t-bob", "alice") is False
    threads, total = await storage.search_threads("alice")
    assert [item["thread_id"] for item in threads] == ["t-alice"] and total == 1
    # A run without its own owner belongs to its thread's owner.
    assert await storage.get_run("r-bob", "alice") is None
    assert await storage.get_run("r-bob", "bob") is not None
    assert await storage.list_runs("t-bob", "alice") == []
    assert await storage.delete_run("r-bob", "alice") is False
    # With auth off everything is visible.
    assert await storage.get_thread("t-bob", None) is not None


async def test_thread_search_by_status_values_ids(storage: Storage) -> None:
    await storage.put_thread(_thread("t1", status="idle", values={"n": 1}, created_at="1"))
    await storage.put_thread(_thread("t2", status="busy", values={"n": 2}, created_at="2"))
    await storage.put_thread(_thread("t3", status="busy", metadata={"m": True}, created_at="3"))
    found, _ = await storage.search_threads(None, status="busy")
    assert [item["thread_id"] for item in found] == ["t3", "t2"]
    found, _ = await storage.search_threads(None, values={"n": 2})
    assert [item["thread_id"] for item in found] == ["t2"]
    found, _ = await storage.search_threads(None, ids=["t1", "t3"], sort_order="asc")
    assert [item["thread_id"] for item in found] == ["t1", "t3"]
    found, _ = await storage.search_threads(None, metadata={"m": True})
    assert [item["thread_id"] for item in found] == ["t3"]
    assert await storage.search_threads(None, ids=[]) == ([], 0)


async def test_runs_and_events(storage: Storage) -> None:
    await storage.put_thread(_thread("t1"))
    await storage.put_run(_run("r1", "t1", created_at="2026-01-01T00:00:01"))
    await storage.put_run(_run("r2", "t1", created_at="2026-01-01T00:00:02", status="running"))
    assert [run["run_id"] for run in await storage.list_runs("t1", None)] == ["r2", "r1"]
    assert [run["run_id"] for run in await storage.list_runs("t1", None, status="pending")] == [
        "r1"
    ]
    running = await storage.list_runs_with_status(["running", "pending"])
    assert sorted(run["run_id"] for run in running) == ["r1", "r2"]

    events = [StoredEvent(f"{index:06d}", "values", b'{"n":%d}' % index) for index in range(5)]
    await storage.append_events("r1", events[:2])
    await storage.append_events("r1", events[2:])
    assert await storage.list_events("r1") == events
    assert await storage.list_events("r1", after_id="000002") == events[3:]
    assert await storage.list_events("r1", after_id="000004") == []
    assert await storage.delete_run("r1", None) is True
    assert await storage.list_events("r1") == []
    assert await storage.get_run("r1", None) is None


async def test_deleting_a_thread_deletes_runs_events_and_checkpoints(storage: Storage) -> None:
    await storage.put_thread(_thread("t1"))
    await storage.put_run(_run("r1", "t1", created_at="1"))
    await storage.append_events("r1", [StoredEvent("1", "values", b"{}")])
    config = {"configurable": {"thread_id": "t1", "checkpoint_ns": ""}}
    await storage.checkpointer.aput(config, empty_checkpoint(), {}, {})
    assert await storage.checkpointer.aget_tuple(config) is not None

    assert await storage.delete_thread("t1", None) is True
    assert await storage.get_thread("t1", None) is None
    assert await storage.get_run("r1", None) is None
    assert await storage.list_events("r1") == []
    assert await storage.checkpointer.aget_tuple(config) is None


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
async def test_persistent_backends_keep_everything_across_reopen(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    first = BACKENDS[backend](request, tmp_path)
    await first.open()
    await first.put_assistant(_assistant("a1"))
    await first.put_thread(_thread("t1", owner="alice"))
    await first.put_run(_run("r1", "t1", created_at="1"))
    await first.append_events("r1", [StoredEvent("1", "metadata", b'{"run_id":"r1"}')])
    config = {"configurable": {"thread_id": "t1", "checkpoint_ns": ""}}
    await first.checkpointer.aput(config, empty_checkpoint(), {"step": 1}, {})
    await first.store.aput(("alice", "notes"), "k", {"v": "é"})
    await first.close()

    second = BACKENDS[backend](request, tmp_path)
    await second.open()
    try:
        assert (await second.get_assistant("a1", None) or {})["assistant_id"] == "a1"
        assert await second.get_thread("t1", "alice") is not None
        assert await second.get_run("r1", "alice") is not None
        assert await second.list_events("r1") == [StoredEvent("1", "metadata", b'{"run_id":"r1"}')]
        restored = await second.checkpointer.aget_tuple(config)
        assert restored is not None and restored.metadata["step"] == 1
        item = await second.store.aget(("alice", "notes"), "k")
        assert item is not None and item.value == {"v": "é"}
    finally:
        await second.close()


async def test_records_are_not_shared_with_callers(storage: Storage) -> None:
    thread = _thread("t1", metadata={"a": 1})
    await storage.put_thread(thread)
    thread["metadata"]["a"] = 2
    fetched = await storage.get_thread("t1", None)
    assert fetched is not None and fetched["metadata"] == {"a": 1}
    fetched["metadata"]["a"] = 3
    again = await storage.get_thread("t1", None)
    assert again is not None and again["metadata"] == {"a": 1}


async def test_a_write_cancelled_midway_leaves_storage_usable(storage: Storage) -> None:
    # A run being cancelled may be writing at that moment: the write completes or not, and the
    # next write still works (SQLite shares one connection between writers).
    for attempt in range(20):
        writer = asyncio.create_task(storage.put_thread(_thread(f"t{attempt}")))
        for _ in range(attempt % 4):
            await asyncio.sleep(0)
        writer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await writer
        await storage.put_thread(_thread(f"after{attempt}"))
        assert await storage.get_thread(f"after{attempt}", None) is not None


async def test_a_cancelled_checkpoint_write_never_blocks_other_writers(storage: Storage) -> None:
    # Cut between the checkpointer's INSERT and COMMIT, its connection would keep the SQLite
    # write lock and this put_thread would wait out the 30 s busy timeout.
    for attempt in range(20):
        config = {"configurable": {"thread_id": f"c{attempt}", "checkpoint_ns": ""}}
        writer = asyncio.create_task(storage.checkpointer.aput(config, empty_checkpoint(), {}, {}))
        for _ in range(attempt % 5):
            await asyncio.sleep(0)
        writer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await writer
        await asyncio.wait_for(storage.put_thread(_thread(f"after{attempt}")), timeout=5)
        await asyncio.wait_for(storage.store.aput(("n",), f"k{attempt}", {"v": 1}), timeout=5)


@pytest.mark.parametrize("backend", ["memory", "sqlite", "postgres"])
async def test_store_search_lists_items_oldest_first_as_langgraph_dev(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    # langgraph dev's in-memory store keeps insertion order, an update included; LangGraph's
    # Postgres store lists the most recently updated first unless told otherwise, and its
    # SQLite store by an updated_at of one-second resolution.
    storage = BACKENDS[backend](request, tmp_path)
    await storage.open()
    try:
        for key in ("first", "second", "third"):
            await storage.store.aput(("notes",), key, {"v": 1})
            # across a second boundary: a one-second clock must not reorder them
            await asyncio.sleep(1.0 - time.time() % 1.0 + 0.01)
        await storage.store.aput(("notes",), "second", {"v": 2})
        found = await storage.store.asearch(("notes",), limit=10)
        assert [item.key for item in found] == ["first", "second", "third"]
        paged = await storage.store.asearch(("notes",), limit=1, offset=1)
        assert [item.key for item in paged] == ["second"]
    finally:
        await storage.close()
