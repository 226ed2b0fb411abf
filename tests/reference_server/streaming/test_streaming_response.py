"""SSE bodies: the same bytes whatever the write boundaries, heartbeats on a fixed cadence,
the disconnect hook, and any async iterator as a source."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from reference_server.storage.base import StoredEvent
from reference_server.storage.memory import MemoryStorage
from reference_server.streaming.broker import RunEventLog
from reference_server.streaming.response import WRITE_BURST, sse_body
from reference_server.streaming.sse import HEARTBEAT, encode_event


def _log() -> RunEventLog:
    return RunEventLog("run", MemoryStorage(), persist=False)


def _expected(log_events: list[StoredEvent], *, include_ids: bool) -> bytes:
    return b"".join(
        encode_event(event.event, event.data, event.id if include_ids else None)
        for event in log_events
    )


def _read_into(writes: list[bytes], body: AsyncIterator[bytes]) -> asyncio.Task[None]:
    """A task appending every write of ``body`` to ``writes``."""

    async def read() -> None:
        async for chunk in body:
            writes.append(chunk)

    return asyncio.create_task(read())


async def test_events_ready_together_go_out_in_one_write_with_the_same_bytes() -> None:
    log = _log()
    published = [log.publish("metadata", b"{}"), log.publish("values", b"[1]")]
    body = sse_body(log.cursor(0), include_ids=True, heartbeat_seconds=60)
    first_write = await anext(body)
    assert first_write == _expected(published, include_ids=True)
    late = log.publish("values", b"[2]")
    assert await anext(body) == _expected([late], include_ids=True)
    await log.close()
    assert [chunk async for chunk in body] == []


async def test_a_client_that_keeps_up_gets_one_write_per_event() -> None:
    log = _log()
    body = sse_body(log.cursor(0), include_ids=False, heartbeat_seconds=60)
    writes: list[bytes] = []

    reader = _read_into(writes, body)
    published = []
    for index in range(3):
        published.append(log.publish("messages", str(index).encode()))
        await asyncio.sleep(0.01)
    await log.close()
    await reader
    assert writes == [_expected([event], include_ids=False) for event in published]


async def test_a_burst_goes_out_at_once_then_events_wait_for_the_next_interval() -> None:
    interval = 0.2
    log = _log()
    body = sse_body(log.cursor(0), include_ids=True, heartbeat_seconds=60, write_interval=interval)
    loop = asyncio.get_running_loop()
    for index in range(WRITE_BURST):
        event = log.publish("messages", str(index).encode())
        assert await asyncio.wait_for(anext(body), timeout=interval / 2) == _expected(
            [event], include_ids=True
        )
    held = [log.publish("messages", b"4"), log.publish("messages", b"5")]
    started = loop.time()
    assert await anext(body) == _expected(held, include_ids=True)
    # The burst was spent: the two events waited for the next interval and went out together.
    assert loop.time() - started >= interval * 0.7
    # A pause refills the allowance: the next event goes out at once.
    await asyncio.sleep(interval * 2)
    after_pause = log.publish("values", b"[6]")
    assert await asyncio.wait_for(anext(body), timeout=interval / 2) == _expected(
        [after_pause], include_ids=True
    )
    await log.close()
    assert [chunk async for chunk in body] == []


async def test_the_last_events_of_a_paced_stream_are_not_held_back() -> None:
    interval = 0.5
    log = _log()
    body = sse_body(log.cursor(0), include_ids=False, heartbeat_seconds=60, write_interval=interval)
    for index in range(WRITE_BURST):
        log.publish("messages", str(index).encode())
        await anext(body)
    last = [log.publish("values", b"[4]"), log.publish("updates", b"{}")]
    await log.close()
    loop = asyncio.get_running_loop()
    started = loop.time()
    assert [chunk async for chunk in body] == [_expected(last, include_ids=False)]
    assert loop.time() - started < interval / 2


async def test_a_paced_stream_from_an_iterator_ends_with_its_iterator() -> None:
    interval = 0.5
    events = [StoredEvent(f"{index}", "messages", str(index).encode()) for index in range(8)]

    async def quick() -> AsyncIterator[StoredEvent]:
        for event in events:
            yield event
            await asyncio.sleep(0)

    loop = asyncio.get_running_loop()
    started = loop.time()
    body = sse_body(quick(), include_ids=True, heartbeat_seconds=60, write_interval=interval)
    writes = [chunk async for chunk in body]
    assert b"".join(writes) == _expected(events, include_ids=True)
    # The burst, then what was left went out when the iterator ended, not an interval later.
    assert loop.time() - started < interval / 2


async def test_a_paced_stream_sends_the_same_bytes_in_fewer_writes() -> None:
    log = _log()
    body = sse_body(log.cursor(0), include_ids=False, heartbeat_seconds=60, write_interval=0.02)
    writes: list[bytes] = []

    loop = asyncio.get_running_loop()
    reader = _read_into(writes, body)
    started = loop.time()
    published = []
    for index in range(60):
        published.append(log.publish("messages", str(index).encode()))
        await asyncio.sleep(0.001)
    await log.close()
    await reader
    elapsed = loop.time() - started
    assert b"".join(writes) == _expected(published, include_ids=False)
    assert writes[0] == _expected(published[:1], include_ids=False)
    # The burst, then at most one write per 20 ms however slowly the events came.
    assert WRITE_BURST < len(writes) <= WRITE_BURST + elapsed / 0.02 + 1


async def test_heartbeats_keep_their_cadence_while_nothing_happens() -> None:
    log = _log()
    body = sse_body(log.cursor(0), include_ids=False, heartbeat_seconds=0.05)
    started = asyncio.get_running_loop().time()
    assert await anext(body) == HEARTBEAT
    assert await anext(body) == HEARTBEAT
    elapsed = asyncio.get_running_loop().time() - started
    assert 0.09 <= elapsed < 1.0
    event = log.publish("values", b"{}")
    assert await anext(body) == _expected([event], include_ids=False)
    await log.close()
    assert [chunk async for chunk in body] == []


async def test_leaving_before_the_end_runs_the_disconnect_hook_and_frees_the_cursor() -> None:
    log = _log()
    log.publish("metadata", b"{}")
    disconnected = asyncio.Event()

    async def on_disconnect() -> None:
        disconnected.set()

    body = sse_body(
        log.cursor(0), include_ids=False, heartbeat_seconds=60, on_disconnect=on_disconnect
    )
    await anext(body)
    await body.aclose()
    assert disconnected.is_set()
    assert not log._cursors  # the log no longer wakes a reader that left
    await log.close()


async def test_a_body_that_reaches_the_end_does_not_run_the_disconnect_hook() -> None:
    log = _log()
    log.publish("metadata", b"{}")
    await log.close()
    called = False

    async def on_disconnect() -> None:
        nonlocal called
        called = True

    body = sse_body(
        log.cursor(0), include_ids=False, heartbeat_seconds=60, on_disconnect=on_disconnect
    )
    assert len([chunk async for chunk in body]) == 1
    assert not called


async def test_any_async_iterator_is_a_source_and_its_failure_ends_the_body() -> None:
    events = [StoredEvent("1", "values", b"1"), StoredEvent("2", "values", b"2")]

    async def failing() -> AsyncIterator[StoredEvent]:
        for event in events:
            yield event
            await asyncio.sleep(0)
        raise RuntimeError("the source broke")

    body = sse_body(failing(), include_ids=True, heartbeat_seconds=60)
    assert b"".join([chunk async for chunk in body]) == _expected(events, include_ids=True)
