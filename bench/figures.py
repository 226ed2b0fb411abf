"""From raw batches to the issue's figures: one ``Cell`` per contestant and figure, holding the
value of every round (for pair-by-pair ratios), the median and the p99 over all samples."""

from __future__ import annotations

import math
from dataclasses import dataclass

from bench.results import FIRST_TOKEN, LONG_ANSWER, THROUGHPUT, BenchResults
from bench.samples import RunSample
from bench.statistics import median, paired_ratio, percentile

NOT_MEASURED = math.nan


@dataclass(frozen=True, slots=True)
class Cell:
    per_round: tuple[float, ...]
    """The figure in each round (NaN where the round measured nothing)."""
    median: float
    """Median over all samples (for rates: over the rounds)."""
    p99: float
    """p99 over all samples (NaN when the figure has none)."""
    runs: int
    failures: int
    first_failure: str | None = None

    @property
    def measured(self) -> bool:
        return not math.isnan(self.median)


def _rounds(results: BenchResults) -> int:
    return int(results.plan["rounds"])


def _failures(samples: list[RunSample]) -> tuple[int, str | None]:
    failed = [sample for sample in samples if not sample.ok]
    return len(failed), (failed[0].error if failed else None)


def _safe_median(values: list[float]) -> float:
    return median(values) if values else NOT_MEASURED


def _safe_p99(values: list[float]) -> float:
    return percentile(values, 0.99) if values else NOT_MEASURED


def first_token_ms(results: BenchResults, contestant: str) -> Cell:
    """Figure 1: request sent to the first token event, greeting, one run at a time."""
    per_round = [NOT_MEASURED] * _rounds(results)
    all_values: list[float] = []
    samples: list[RunSample] = []
    for record in results.batches(contestant=contestant, figure=FIRST_TOKEN):
        values = [
            sample.first_token_at * 1000.0
            for sample in record.batch.samples
            if sample.ok and sample.first_token_at is not None
        ]
        samples.extend(record.batch.samples)
        all_values.extend(values)
        if values and record.round < len(per_round):
            per_round[record.round] = median(values)
    failures, first = _failures(samples)
    return Cell(
        tuple(per_round),
        _safe_median(all_values),
        _safe_p99(all_values),
        len(samples),
        failures,
        first,
    )


def tokens_per_second(sample: RunSample) -> float | None:
    """Streaming rate between the first and the last token event of one run."""
    if (
        not sample.ok
        or sample.token_events < 2
        or sample.first_token_at is None
        or sample.last_token_at is None
        or sample.last_token_at <= sample.first_token_at
    ):
        return None
    return (sample.token_events - 1) / (sample.last_token_at - sample.first_token_at)


def long_answer_rate(results: BenchResults, contestant: str) -> tuple[Cell, Cell]:
    """Figure 2: tokens per second of the long answer, and its whole run time in seconds."""
    rounds = _rounds(results)
    rate_per_round = [NOT_MEASURED] * rounds
    time_per_round = [NOT_MEASURED] * rounds
    rates: list[float] = []
    times: list[float] = []
    samples: list[RunSample] = []
    for record in results.batches(contestant=contestant, figure=LONG_ANSWER):
        samples.extend(record.batch.samples)
        round_rates = [
            rate for rate in map(tokens_per_second, record.batch.samples) if rate is not None
        ]
        round_times = [sample.latency for sample in record.batch.samples if sample.ok]
        rates.extend(round_rates)
        times.extend(round_times)
        if record.round < rounds:
            if round_rates:
                rate_per_round[record.round] = median(round_rates)
            if round_times:
                time_per_round[record.round] = median(round_times)
    failures, first = _failures(samples)
    return (
        Cell(
            tuple(rate_per_round), _safe_median(rates), NOT_MEASURED, len(samples), failures, first
        ),
        Cell(
            tuple(time_per_round),
            _safe_median(times),
            _safe_p99(times),
            len(samples),
            failures,
            first,
        ),
    )


def throughput(
    results: BenchResults, contestant: str, workload: str, concurrency: int
) -> tuple[Cell, Cell]:
    """Figure 3: completed runs per second (median over rounds) and run latency in seconds
    (median and p99 over every run of every round)."""
    rounds = _rounds(results)
    rate_per_round = [NOT_MEASURED] * rounds
    latency_per_round = [NOT_MEASURED] * rounds
    latencies: list[float] = []
    samples: list[RunSample] = []
    for record in results.batches(
        contestant=contestant, figure=THROUGHPUT, workload=workload, concurrency=concurrency
    ):
        samples.extend(record.batch.samples)
        ok_latencies = [sample.latency for sample in record.batch.samples if sample.ok]
        latencies.extend(ok_latencies)
        if record.round < rounds:
            rate_per_round[record.round] = record.batch.runs_per_second
            if ok_latencies:
                latency_per_round[record.round] = median(ok_latencies)
    measured_rates = [rate for rate in rate_per_round if not math.isnan(rate)]
    failures, first = _failures(samples)
    return (
        Cell(
            tuple(rate_per_round),
            _safe_median(measured_rates),
            NOT_MEASURED,
            len(samples),
            failures,
            first,
        ),
        Cell(
            tuple(latency_per_round),
            _safe_median(latencies),
            _safe_p99(latencies),
            len(samples),
            failures,
            first,
        ),
    )


def cpu_per_thousand_events(
    results: BenchResults,
    contestant: str,
    *,
    figure: str,
    workload: str | None = None,
    concurrency: int | None = None,
) -> Cell:
    """Figure 4: the contestant's CPU seconds per 1,000 events it delivered.

    The median is taken over all the selected batches together (CPU summed, events summed):
    /proc counts CPU in clock ticks (10 ms), too coarse for one short batch on its own.
    """
    per_round = [NOT_MEASURED] * _rounds(results)
    cpu_by_round: dict[int, float] = {}
    events_by_round: dict[int, int] = {}
    runs = 0
    for record in results.batches(
        contestant=contestant, figure=figure, workload=workload, concurrency=concurrency
    ):
        runs += len(record.batch.samples)
        cpu_by_round[record.round] = cpu_by_round.get(record.round, 0.0) + record.server_cpu_seconds
        events_by_round[record.round] = events_by_round.get(record.round, 0) + record.batch.events
    for round_index, cpu in cpu_by_round.items():
        events = events_by_round[round_index]
        if events and round_index < len(per_round):
            per_round[round_index] = cpu / events * 1000.0
    total_events = sum(events_by_round.values())
    overall = sum(cpu_by_round.values()) / total_events * 1000.0 if total_events else NOT_MEASURED
    return Cell(tuple(per_round), overall, NOT_MEASURED, runs, 0)


def ratio(numerator: Cell, denominator: Cell) -> float | None:
    """Median of the per-round ratios (see ``bench.statistics.paired_ratio``)."""
    if len(numerator.per_round) != len(denominator.per_round):
        return None
    return paired_ratio(numerator.per_round, denominator.per_round)
