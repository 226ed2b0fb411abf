"""Drive runs: closed-loop batches at a fixed concurrency, and many streams held open at once.

Both are generic over "one run" / "one stream" coroutines, so the HTTP load generator, the
in-process floor and the fake LLM read directly share the same bookkeeping.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from bench.samples import BatchResult, HoldOutcome, RunSample

RunOne = Callable[[int], Awaitable[RunSample]]
"""Runs the ``index``-th run of a batch and describes it; a failure is a sample, not a raise."""


class HeldStream:
    """What one held stream has reached: open (the server accepted it: HTTP 200 and headers)
    and active (it delivered an event: its run is executing, not queued)."""

    def __init__(self) -> None:
        self.opened = asyncio.Event()
        self.active = False

    def mark_open(self) -> None:
        self.opened.set()

    def mark_active(self) -> None:
        self.active = True
        self.opened.set()


OpenOne = Callable[[int, HeldStream], Awaitable[str]]
"""Opens the ``index``-th stream, marks it open (and active) as it gets there, keeps it open
until cancelled; if it returns, the stream ended on its own and the string says how."""

Measured = TypeVar("Measured")


async def _guarded(run_one: RunOne, index: int) -> RunSample:
    started = time.perf_counter()
    try:
        return await run_one(index)
    except Exception as error:  # a broken run must not end the batch: it is a failed sample
        return RunSample(
            ok=False,
            latency=time.perf_counter() - started,
            error=f"{type(error).__name__}: {error}",
        )


async def run_closed_loop(run_one: RunOne, *, concurrency: int, runs: int) -> BatchResult:
    """``runs`` runs, ``concurrency`` at a time; each worker starts its next run when its
    previous one ends. Samples are in run-index order."""
    if concurrency < 1:
        raise ValueError(f"concurrency must be at least 1, got {concurrency}")
    if runs < 1:
        raise ValueError(f"runs must be at least 1, got {runs}")
    indices = iter(range(runs))
    samples: list[RunSample | None] = [None] * runs

    async def worker() -> None:
        # One shared iterator: the event loop runs one worker at a time, so no index is taken
        # twice.
        for index in indices:
            samples[index] = await _guarded(run_one, index)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(min(concurrency, runs))))
    wall_seconds = time.perf_counter() - started
    return BatchResult(
        concurrency=concurrency,
        wall_seconds=wall_seconds,
        samples=tuple(sample for sample in samples if sample is not None),
    )


async def hold_streams(
    open_one: OpenOne,
    *,
    count: int,
    open_timeout: float,
    hold_seconds: float,
    measure: Callable[[], Awaitable[Measured]],
    release_timeout: float = 10.0,
) -> tuple[HoldOutcome, Measured]:
    """Open ``count`` streams at once, wait until each is open (or failed, or ``open_timeout``
    passed), keep them all open ``hold_seconds`` more, call ``measure()`` while they are still
    open, then close them (cancel their tasks, waiting at most ``release_timeout`` for them).
    A stream that ends by itself before the close is a failure."""
    if count < 1:
        raise ValueError(f"count must be at least 1, got {count}")
    streams = [HeldStream() for _ in range(count)]
    ended: dict[int, str] = {}
    settled = [asyncio.Event() for _ in range(count)]

    async def one(index: int) -> None:
        watcher = asyncio.create_task(_relay(streams[index].opened, settled[index]))
        try:
            ended[index] = await open_one(index, streams[index])
        except asyncio.CancelledError:
            raise
        except Exception as error:
            ended[index] = f"{type(error).__name__}: {error}"
        finally:
            watcher.cancel()
            settled[index].set()

    started = time.perf_counter()
    tasks = [asyncio.create_task(one(index)) for index in range(count)]
    last_opened = started
    try:
        deadline = started + open_timeout
        for index in range(count):
            remaining = deadline - time.perf_counter()
            if remaining <= 0:
                break
            try:
                await asyncio.wait_for(settled[index].wait(), timeout=remaining)
            except TimeoutError:
                break
        last_opened = time.perf_counter()
        await asyncio.sleep(hold_seconds)
        measured = await measure()
        held = [index for index in range(count) if streams[index].opened.is_set()]
        opened_count = sum(1 for index in held if index not in ended)
        active_count = sum(1 for index in held if index not in ended and streams[index].active)
        failures = [f"stream {index}: {reason}" for index, reason in sorted(ended.items())]
        never_opened = count - opened_count - len(ended)
        if never_opened:
            failures.append(f"{never_opened} streams not open after {open_timeout:g} s")
    finally:
        for task in tasks:
            task.cancel()
        # A run that swallows its cancellation would keep this waiting as long as it streams:
        # wait a bounded time and count the stragglers instead.
        _, lingering = await asyncio.wait(tasks, timeout=release_timeout)
    outcome = HoldOutcome(
        requested=count,
        opened=opened_count,
        active=active_count,
        lingering=len(lingering),
        open_seconds=last_opened - started,
        failures=tuple(failures),
    )
    return outcome, measured


async def _relay(source: asyncio.Event, target: asyncio.Event) -> None:
    await source.wait()
    target.set()
