"""The measuring sequence: warm-up, then each figure round by round with the contestants taking
turns (the order rotating each round, the others stopped), CPU read around every batch; memory
at rest and with many streams held open last, on fresh instances."""

from __future__ import annotations

import asyncio
import resource
from collections.abc import Callable, Sequence
from contextlib import AsyncExitStack

from bench.contestants import Contestant, ContestantStartError, Launcher
from bench.freezer import Freezer
from bench.plan import Plan
from bench.process_metrics import TreeSnapshot, snapshot
from bench.results import (
    FIRST_TOKEN,
    LONG_ANSWER,
    THROUGHPUT,
    WARM_UP,
    BatchRecord,
    BenchResults,
    MemoryRecord,
)
from bench.workloads import (
    GREETING,
    TOOL_ROUND_TRIP,
    Workload,
    long_answer,
    slow_stream,
)

Progress = Callable[[str], None]


_THAW_SECONDS = 0.5
_SETTLE_TIMEOUT_SECONDS = 120.0
_QUIET_CPU_SHARE = 0.2
"""A contestant using less than this share of a core is taken to be idle (``langgraph dev``
polls its queue even when idle)."""


async def _settled(pid: int) -> bool:
    """Waits until the process tree is quiet on the CPU; False if it never gets there."""
    window = 0.5
    loop = asyncio.get_running_loop()
    deadline = loop.time() + _SETTLE_TIMEOUT_SECONDS
    while loop.time() < deadline:
        before = snapshot(pid).cpu_seconds
        await asyncio.sleep(window)
        if snapshot(pid).cpu_seconds - before < _QUIET_CPU_SHARE * window:
            return True
    return False


def _own_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def turns(contestants: Sequence[Contestant], round_index: int) -> list[Contestant]:
    """The order of play in a round: rotated by one each round, so no contestant always runs
    right after the same neighbour (or always first, on a cold machine)."""
    if not contestants:
        return []
    shift = round_index % len(contestants)
    return [*contestants[shift:], *contestants[:shift]]


class Runner:
    def __init__(
        self,
        contestants: Sequence[Contestant],
        plan: Plan,
        results: BenchResults,
        *,
        llm_pid: int,
        launcher: Launcher,
        progress: Progress,
        figures: Sequence[str],
    ) -> None:
        self._contestants = list(contestants)
        self._plan = plan
        self._results = results
        self._llm_pid = llm_pid
        self._launcher = launcher
        self._progress = progress
        self._figures = set(figures)
        self._freezer = Freezer(
            (contestant.pid for contestant in self._contestants), never_frozen=(llm_pid,)
        )

    async def run(self) -> BenchResults:
        try:
            await self._warm_up()
            if FIRST_TOKEN in self._figures:
                await self._first_token()
            if LONG_ANSWER in self._figures:
                await self._long_answer()
            if THROUGHPUT in self._figures:
                await self._throughput()
            if "memory" in self._figures:
                await self._memory()
        finally:
            # Stopped processes could not even handle the SIGTERM that ends them.
            self._freezer.thaw_all()
        return self._results

    async def _batch(
        self,
        contestant: Contestant,
        *,
        figure: str,
        workload: Workload,
        concurrency: int,
        runs: int,
        round_index: int,
    ) -> BatchRecord:
        if self._freezer.only(contestant.pid):
            # Its timers fired late while it was stopped: let it close the keep-alive
            # connections it now finds idle for too long before they are used again.
            await asyncio.sleep(_THAW_SECONDS)
        server_before = snapshot(contestant.pid).cpu_seconds
        llm_before = snapshot(self._llm_pid).cpu_seconds
        client_before = _own_cpu_seconds()
        batch = await contestant.driver.run_batch(workload, concurrency=concurrency, runs=runs)
        record = BatchRecord(
            contestant=contestant.key,
            figure=figure,
            workload=workload.name,
            concurrency=concurrency,
            round=round_index,
            batch=batch,
            server_cpu_seconds=snapshot(contestant.pid).cpu_seconds - server_before,
            client_cpu_seconds=_own_cpu_seconds() - client_before,
            llm_cpu_seconds=snapshot(self._llm_pid).cpu_seconds - llm_before,
        )
        self._results.records.append(record)
        failures = batch.failures
        summary = (
            f"  {figure:<11} {workload.name:<28} c={concurrency:<4} round {round_index + 1}"
            f"  {contestant.key:<19} {batch.completed}/{len(batch.samples)} ok"
            f" in {batch.wall_seconds:6.2f} s ({batch.runs_per_second:7.1f} runs/s)"
        )
        if failures:
            summary += f"  first failure: {failures[0].error}"
        self._progress(summary)
        return record

    async def _warm_up(self) -> None:
        self._progress("warm-up")
        if not self._plan.warmup_runs:
            return
        for contestant in self._contestants:
            for workload in (GREETING, TOOL_ROUND_TRIP, long_answer(self._plan.long_tokens)):
                await self._batch(
                    contestant,
                    figure=WARM_UP,
                    workload=workload,
                    concurrency=1,
                    runs=self._plan.warmup_runs if workload is GREETING else 1,
                    round_index=0,
                )
            warm_concurrency = min(10, max(self._plan.concurrency_levels))
            await self._batch(
                contestant,
                figure=WARM_UP,
                workload=GREETING,
                concurrency=warm_concurrency,
                runs=warm_concurrency,
                round_index=0,
            )

    async def _first_token(self) -> None:
        self._progress("figure 1: time to first token (greeting, one run at a time)")
        for round_index in range(self._plan.rounds):
            for contestant in turns(self._contestants, round_index):
                await self._batch(
                    contestant,
                    figure=FIRST_TOKEN,
                    workload=GREETING,
                    concurrency=1,
                    runs=self._plan.first_token_runs,
                    round_index=round_index,
                )

    async def _long_answer(self) -> None:
        workload = long_answer(self._plan.long_tokens)
        self._progress(f"figure 2: tokens per second ({workload.name})")
        for round_index in range(self._plan.rounds):
            for contestant in turns(self._contestants, round_index):
                await self._batch(
                    contestant,
                    figure=LONG_ANSWER,
                    workload=workload,
                    concurrency=1,
                    runs=self._plan.long_runs,
                    round_index=round_index,
                )

    async def _throughput(self) -> None:
        self._progress("figure 3: completed runs per second and latency under concurrency")
        for workload in (GREETING, TOOL_ROUND_TRIP):
            for concurrency in self._plan.concurrency_levels:
                for round_index in range(self._plan.throughput_rounds):
                    for contestant in turns(self._contestants, round_index):
                        await self._batch(
                            contestant,
                            figure=THROUGHPUT,
                            workload=workload,
                            concurrency=concurrency,
                            runs=self._plan.batch_runs(concurrency),
                            round_index=round_index,
                        )

    async def _memory(self) -> None:
        """Figure 5, on a fresh instance of each contestant (the fake LLM read directly excepted:
        it is the shared one), started after the other figures and stopped right after: the
        other figures have grown the main instances' heaps to their high-water mark (Python
        keeps freed memory), which would hide what a stream costs; and a server slow to wind
        a thousand runs down is stopped instead of left to disturb anything else."""
        plan = self._plan
        workload = slow_stream(
            plan.open_timeout + plan.hold_seconds + 30.0, plan.hold_token_delay_ms
        )
        self._progress(
            f"figure 5: memory at rest and with {plan.hold_count} streams held open "
            f"({workload.prompt!r}), each on a fresh instance"
        )
        for contestant in self._contestants:
            async with AsyncExitStack() as stack:
                try:
                    fresh = await self._launcher.start_one(stack, contestant.key)
                except ContestantStartError as error:
                    self._results.notes.append(
                        f"figure 5: a fresh {contestant.key} could not be started: {error}"
                    )
                    continue
                await self._hold_fresh(fresh, workload)

    async def _hold_fresh(self, fresh: Contestant, workload: Workload) -> None:
        plan = self._plan
        for concurrency, runs in ((1, 3), (10, 10)):
            await self._batch(
                fresh,
                figure=WARM_UP,
                workload=GREETING,
                concurrency=concurrency,
                runs=runs,
                round_index=0,
            )
        await _settled(fresh.pid)
        rest = snapshot(fresh.pid)
        if not plan.hold_count:
            self._results.memory[fresh.key] = MemoryRecord(
                fresh.key, rest.rss_bytes, rest_pss_bytes=rest.pss_bytes
            )
            return

        async def read_memory() -> TreeSnapshot:
            return snapshot(fresh.pid)

        outcome, held = await fresh.driver.hold(
            workload,
            count=plan.hold_count,
            open_timeout=plan.open_timeout,
            hold_seconds=plan.hold_seconds,
            measure=read_memory,
        )
        self._results.memory[fresh.key] = MemoryRecord(
            contestant=fresh.key,
            rest_rss_bytes=rest.rss_bytes,
            rest_pss_bytes=rest.pss_bytes,
            before_hold_rss_bytes=rest.rss_bytes,
            held_rss_bytes=held.rss_bytes,
            hold=outcome,
        )
        line = (
            f"  hold {fresh.key:<19} {outcome.opened}/{outcome.requested} open "
            f"({outcome.active} executing) after {outcome.open_seconds:.1f} s, RSS "
            f"{rest.rss_bytes / 2**20:.0f} -> {held.rss_bytes / 2**20:.0f} MiB"
        )
        if outcome.failures:
            line += f"  first failure: {outcome.failures[0]}"
        self._progress(line)
