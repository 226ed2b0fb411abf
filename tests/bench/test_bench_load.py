from __future__ import annotations

import asyncio

import pytest

from bench.load import HeldStream, hold_streams, run_closed_loop
from bench.samples import RunSample


async def test_every_run_happens_once_and_never_more_than_the_concurrency_at_a_time() -> None:
    in_flight = 0
    most_in_flight = 0
    seen: list[int] = []

    async def run_one(index: int) -> RunSample:
        nonlocal in_flight, most_in_flight
        in_flight += 1
        most_in_flight = max(most_in_flight, in_flight)
        await asyncio.sleep(0)
        seen.append(index)
        in_flight -= 1
        return RunSample(ok=True, latency=float(index), events=2)

    batch = await run_closed_loop(run_one, concurrency=3, runs=10)
    assert sorted(seen) == list(range(10))
    assert most_in_flight == 3
    assert [sample.latency for sample in batch.samples] == [float(index) for index in range(10)]
    assert batch.completed == 10
    assert batch.events == 20
    assert batch.concurrency == 3


async def test_a_run_that_raises_is_a_failed_sample_and_the_batch_goes_on() -> None:
    async def run_one(index: int) -> RunSample:
        if index == 1:
            raise ConnectionError("refused")
        return RunSample(ok=True, latency=0.0)

    batch = await run_closed_loop(run_one, concurrency=2, runs=3)
    assert batch.completed == 2
    assert [failure.error for failure in batch.failures] == ["ConnectionError: refused"]


async def test_bad_batch_sizes_are_refused() -> None:
    async def run_one(index: int) -> RunSample:
        return RunSample(ok=True, latency=0.0)

    with pytest.raises(ValueError, match="concurrency"):
        await run_closed_loop(run_one, concurrency=0, runs=1)
    with pytest.raises(ValueError, match="runs"):
        await run_closed_loop(run_one, concurrency=1, runs=0)


async def test_hold_counts_open_executing_and_failed_streams_while_they_are_held() -> None:
    cancelled: list[int] = []

    async def open_one(index: int, stream: HeldStream) -> str:
        if index == 0:
            return "HTTP 500: no"  # never opens
        stream.mark_open()
        if index == 1:
            return "stream ended after 0 events while held open"  # opens, then ends early
        if index % 2 == 0:
            stream.mark_active()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.append(index)
            raise
        return "unreachable"

    async def measure() -> int:
        assert not cancelled  # read while every held stream is still open
        return 42

    outcome, measured = await hold_streams(
        open_one, count=6, open_timeout=5.0, hold_seconds=0.0, measure=measure
    )
    assert measured == 42
    assert outcome.requested == 6
    assert outcome.opened == 4  # 2, 3, 4, 5
    assert outcome.active == 2  # 2, 4
    assert sorted(cancelled) == [2, 3, 4, 5]
    assert outcome.failures == (
        "stream 0: HTTP 500: no",
        "stream 1: stream ended after 0 events while held open",
    )


async def test_streams_that_never_open_are_reported_after_the_open_timeout() -> None:
    async def open_one(index: int, stream: HeldStream) -> str:
        if index == 0:
            stream.mark_open()
        await asyncio.Event().wait()
        return "unreachable"

    async def measure() -> None:
        return None

    outcome, _ = await hold_streams(
        open_one, count=3, open_timeout=0.05, hold_seconds=0.0, measure=measure
    )
    assert outcome.opened == 1
    assert outcome.failures == ("2 streams not open after 0.05 s",)


async def test_streams_that_ignore_their_cancellation_are_counted_not_awaited() -> None:
    stop_lingering = asyncio.Event()

    async def open_one(index: int, stream: HeldStream) -> str:
        stream.mark_active()
        if index == 0:
            # Swallows its cancellation, as a run stuck in a shielded close would, until the
            # test lets it go.
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                await stop_lingering.wait()
            return "lingered"
        await asyncio.Event().wait()
        return "unreachable"

    async def measure() -> None:
        return None

    outcome, _ = await hold_streams(
        open_one, count=2, open_timeout=5.0, hold_seconds=0.0, measure=measure, release_timeout=0.05
    )
    stop_lingering.set()
    assert (outcome.opened, outcome.lingering) == (2, 1)
