"""The per-run event log: unique increasing ids, live fan-out, batched persistence."""

from __future__ import annotations

import asyncio

import pytest

from reference_server.storage.memory import MemoryStorage
from reference_server.streaming.broker import REPLAY_EVERYTHING, RunEventLog, next_event_id


async def _collect(log: RunEventLog, after_id: str | None) -> list[str]:
    return [event.event async for event in log.listen(after_id)]


async def test_ids_are_unique_strictly_increasing_and_sortable_as_text() -> None:
    log = RunEventLog("run", MemoryStorage(), persist=False)
    ids = [log.publish("values", b"{}").id for _ in range(500)]
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)
    await log.close()


async def test_listeners_get_live_events_and_end_when_the_log_closes() -> None:
    log = RunEventLog("run", MemoryStorage(), persist=False)
    log.publish("metadata", b"{}")
    from_start = asyncio.create_task(_collect(log, REPLAY_EVERYTHING))
    live_only = asyncio.create_task(_collect(log, None))
    await asyncio.sleep(0)
    log.publish("values", b"1")
    log.publish("updates", b"2")
    await log.close()
    assert await from_start == ["metadata", "values", "updates"]
    assert await live_only == ["values", "updates"]


async def test_listening_after_an_id_replays_strictly_after_it() -> None:
    log = RunEventLog("run", MemoryStorage(), persist=False)
    first = log.publish("a", b"1")
    log.publish("b", b"2")
    await log.close()
    assert await _collect(log, first.id) == ["b"]
    assert await _collect(log, REPLAY_EVERYTHING) == ["a", "b"]


async def test_resumable_logs_are_persisted_in_order_by_close() -> None:
    storage = MemoryStorage()
    log = RunEventLog("run", storage, persist=True)
    published = [log.publish("values", str(index).encode()) for index in range(50)]
    await log.close()
    assert await storage.list_events("run") == published
    assert await storage.list_events("run", published[47].id) == published[48:]


async def test_non_resumable_logs_are_not_persisted() -> None:
    storage = MemoryStorage()
    log = RunEventLog("run", storage, persist=False)
    log.publish("values", b"{}")
    await log.close()
    assert await storage.list_events("run") == []


async def test_persistence_is_batched_not_one_write_per_event() -> None:
    class CountingStorage(MemoryStorage):
        writes = 0

        async def append_events(self, run_id, events):  # type: ignore[no-untyped-def]
            CountingStorage.writes += 1
            await asyncio.sleep(0.01)
            await super().append_events(run_id, events)

    storage = CountingStorage()
    log = RunEventLog("run", storage, persist=True)
    for index in range(100):
        log.publish("values", str(index).encode())
    await log.close()
    assert len(await storage.list_events("run")) == 100
    assert CountingStorage.writes <= 2


async def test_a_position_fixed_now_misses_nothing_published_before_listening() -> None:
    log = RunEventLog("run", MemoryStorage(), persist=False)
    log.publish("metadata", b"{}")
    position = log.position
    # Published after the position was taken but before anyone listens: still delivered.
    log.publish("values", b"1")
    listener = asyncio.create_task(_collect_from(log, position))
    await asyncio.sleep(0)
    log.publish("updates", b"2")
    await log.close()
    assert await listener == ["values", "updates"]
    assert log.last_id is not None and log.start_position(log.last_id) == 3


async def _collect_from(log: RunEventLog, position: int) -> list[str]:
    return [event.event async for event in log.listen_from(position)]


async def test_the_id_after_the_last_one_is_what_the_log_would_issue_next() -> None:
    log = RunEventLog("run", MemoryStorage(), persist=False)
    last = log.publish("values", b"1").id
    assert next_event_id(last) > last
    assert next_event_id("0000000000005-00000009") == "0000000000005-00000010"
    with pytest.raises(ValueError, match="not an event id"):
        next_event_id("1795860209838-x")
    await log.close()
