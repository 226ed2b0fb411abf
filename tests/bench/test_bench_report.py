from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import pytest

from bench.contestants import (
    FLOOR,
    HTTP_FLOOR,
    LANGGRAPH_DEV,
    REFERENCE,
    REFERENCE_POSTGRES,
    REFERENCE_POSTGRES_TWO_WORKERS,
)
from bench.figures import (
    cpu_per_thousand_events,
    first_token_ms,
    long_answer_rate,
    ratio,
    throughput,
    tokens_per_second,
)
from bench.plan import QUICK
from bench.report import (
    RESULTS_END,
    RESULTS_START,
    build_tables,
    goals_table,
    render_markdown,
    render_text,
    write_docs,
)
from bench.results import (
    FIRST_TOKEN,
    LONG_ANSWER,
    THROUGHPUT,
    BatchRecord,
    BenchResults,
    MemoryRecord,
)
from bench.samples import BatchResult, HoldOutcome, RunSample

ROUNDS = 2
PLAN = {
    "name": "test",
    "rounds": ROUNDS,
    "warmup_runs": 0,
    "first_token_runs": 2,
    "long_tokens": 11,
    "long_runs": 1,
    "concurrency_levels": [50],
    "runs_per_stream": 1,
    "min_batch_runs": 1,
    "hold_count": 1000,
    "hold_seconds": 0.0,
    "hold_token_delay_ms": 1000,
    "open_timeout": 1.0,
    "figures": [FIRST_TOKEN, LONG_ANSWER, THROUGHPUT],
}
ENVIRONMENT = {
    "date": "2026-01-01 00:00 UTC",
    "cpu_model": "Test CPU",
    "cpu_cores": 2,
    "usable_cores": 2,
    "memory": "1.0 GiB",
    "kernel": "6.0",
    "python": "3.11.0",
    "load_generator_loop": "asyncio",
    "load_average_at_start": "0.00 0.00 0.00",
    "versions": {"langgraph": "1.2.22"},
    "graph_id": "weather_agent",
    "config": "langgraph.json",
    "stream_mode": "values,messages-tuple",
    "endpoint": "a fresh thread per run",
}


def _record(
    contestant: str,
    figure: str,
    round_index: int,
    samples: list[RunSample],
    *,
    workload: str = "greeting",
    concurrency: int = 1,
    wall: float = 1.0,
    cpu: float = 0.0,
) -> BatchRecord:
    return BatchRecord(
        contestant=contestant,
        figure=figure,
        workload=workload,
        concurrency=concurrency,
        round=round_index,
        batch=BatchResult(concurrency=concurrency, wall_seconds=wall, samples=tuple(samples)),
        server_cpu_seconds=cpu,
        client_cpu_seconds=0.0,
        llm_cpu_seconds=0.0,
    )


def _first_token(seconds: float) -> RunSample:
    return RunSample(ok=True, latency=seconds * 2, events=5, token_events=3, first_token_at=seconds)


def _long(duration: float) -> RunSample:
    # 11 tokens: 10 intervals between the first and the last.
    return RunSample(
        ok=True,
        latency=duration + 0.01,
        events=12,
        token_events=11,
        first_token_at=0.01,
        last_token_at=0.01 + duration,
    )


@pytest.fixture
def results() -> BenchResults:
    bench = BenchResults(
        plan=dict(PLAN),
        contestants={REFERENCE: "reference", FLOOR: "floor", LANGGRAPH_DEV: "langgraph dev"},
        environment=dict(ENVIRONMENT),
    )
    first_token_seconds = {
        REFERENCE: [(0.020, 0.022), (0.040, 0.044)],
        FLOOR: [(0.010, 0.010), (0.010, 0.012)],
        LANGGRAPH_DEV: [(1.0, 1.0), (1.0, 1.0)],
    }
    for contestant, rounds in first_token_seconds.items():
        for round_index, values in enumerate(rounds):
            bench.records.append(
                _record(
                    contestant,
                    FIRST_TOKEN,
                    round_index,
                    [_first_token(v) for v in values],
                    cpu=0.01,
                )
            )
    long_durations = {REFERENCE: (0.02, 0.01), FLOOR: (0.01, 0.01), LANGGRAPH_DEV: (0.1, 0.1)}
    for contestant, durations in long_durations.items():
        for round_index, duration in enumerate(durations):
            bench.records.append(
                _record(contestant, LONG_ANSWER, round_index, [_long(duration)], workload="long")
            )
    walls = {REFERENCE: (1.0, 2.0), FLOOR: (0.5, 0.5), LANGGRAPH_DEV: (10.0, 10.0)}
    for contestant, round_walls in walls.items():
        for round_index, wall in enumerate(round_walls):
            samples = [RunSample(ok=True, latency=0.1 * (i + 1), events=10) for i in range(100)]
            if contestant == REFERENCE and round_index == 1:
                samples[0] = RunSample(ok=False, latency=0.0, error="HTTP 500: boom")
            bench.records.append(
                _record(
                    contestant, THROUGHPUT, round_index, samples, concurrency=50, wall=wall, cpu=2.0
                )
            )
    hold = HoldOutcome(requested=1000, opened=1000, active=1000, open_seconds=3.0)
    bench.memory[REFERENCE] = MemoryRecord(
        REFERENCE,
        rest_rss_bytes=100 * 2**20,
        before_hold_rss_bytes=100 * 2**20,
        held_rss_bytes=200 * 2**20,
        hold=hold,
    )
    bench.memory[FLOOR] = MemoryRecord(FLOOR, rest_rss_bytes=80 * 2**20)
    return bench


def test_first_token_figure_keeps_each_round_and_pools_the_samples(results: BenchResults) -> None:
    cell = first_token_ms(results, REFERENCE)
    assert cell.per_round == pytest.approx((21.0, 42.0))
    assert cell.median == pytest.approx(31.0)
    assert cell.p99 == pytest.approx(44.0)
    assert (cell.runs, cell.failures) == (4, 0)


def test_ratios_are_taken_round_by_round(results: BenchResults) -> None:
    reference = first_token_ms(results, REFERENCE)
    floor = first_token_ms(results, FLOOR)
    # Rounds: 21/10 = 2.1 and 42/11 = 3.818...; the median of the two.
    assert ratio(reference, floor) == pytest.approx((2.1 + 42 / 11) / 2)


def test_tokens_per_second_leaves_out_the_time_to_the_first_token() -> None:
    assert tokens_per_second(_long(0.01)) == pytest.approx(1000.0)
    assert tokens_per_second(RunSample(ok=False, latency=1.0)) is None
    assert (
        tokens_per_second(
            RunSample(ok=True, latency=1.0, token_events=1, first_token_at=0.1, last_token_at=0.1)
        )
        is None
    )


def test_long_answer_rate_and_time(results: BenchResults) -> None:
    rate, run_time = long_answer_rate(results, REFERENCE)
    assert rate.per_round == pytest.approx((500.0, 1000.0))
    assert run_time.median == pytest.approx(0.025)


def test_throughput_counts_completed_runs_and_pools_latencies(results: BenchResults) -> None:
    rate, latency = throughput(results, REFERENCE, "greeting", 50)
    assert rate.per_round == pytest.approx((100.0, 99 / 2.0))
    assert (rate.runs, rate.failures, rate.first_failure) == (200, 1, "HTTP 500: boom")
    assert latency.p99 == pytest.approx(10.0)  # rank 198 of 199
    assert throughput(results, REFERENCE, "greeting", 10)[0].measured is False


def test_cpu_per_thousand_events_sums_cpu_and_events_over_rounds(results: BenchResults) -> None:
    cell = cpu_per_thousand_events(
        results, REFERENCE, figure=THROUGHPUT, workload="greeting", concurrency=50
    )
    # 4.0 s of CPU over 100*10 + 99*10 events.
    assert cell.median == pytest.approx(4.0 / 1990 * 1000)


def test_goals_say_met_and_not_met_from_the_ratios(results: BenchResults) -> None:
    rows = {row[0]: row for row in goals_table(results).rows}
    first_vs_floor = rows["first token within 1.5x of the in-process floor"]
    assert first_vs_floor[2] == "NOT met"  # 2.96x
    assert rows["first token 30x or more sooner than langgraph dev"][2] == "met"
    assert rows["long answer at least 90% of the floor's tokens/s"][2] == "NOT met"  # 0.75x
    greeting_row = next(row for row in rows.values() if row[0].startswith("greeting, 50 streams"))
    assert greeting_row[1] == "0.37x" and greeting_row[2] == "NOT met"
    assert rows["1,000 open streams held without error"][2] == "met"
    assert "102 KiB per stream" in rows["1,000 open streams held without error"][1]


def test_goals_show_the_http_floor_against_the_same_floor(results: BenchResults) -> None:
    assert len(goals_table(results).headers) == 3  # no HTTP floor in this run: no column
    results.contestants[HTTP_FLOOR] = "HTTP floor"
    for round_index, values in enumerate([(0.015, 0.015), (0.015, 0.015)]):
        results.records.append(
            _record(HTTP_FLOOR, FIRST_TOKEN, round_index, [_first_token(v) for v in values])
        )
    for round_index in range(ROUNDS):
        samples = [RunSample(ok=True, latency=0.1, events=10) for _ in range(100)]
        results.records.append(
            _record(HTTP_FLOOR, THROUGHPUT, round_index, samples, concurrency=50, wall=0.8, cpu=3.0)
        )
    results.memory[HTTP_FLOOR] = MemoryRecord(
        HTTP_FLOOR,
        rest_rss_bytes=90 * 2**20,
        before_hold_rss_bytes=90 * 2**20,
        held_rss_bytes=140 * 2**20,
        hold=HoldOutcome(requested=1000, opened=1000, active=1000, open_seconds=2.0),
    )
    table = goals_table(results)
    assert table.headers[-1] == "HTTP floor, same measure"
    rows = {row[0]: row for row in table.rows}
    # First token: 15.x ms against the floor's 10 and 11 ms, round by round.
    assert rows["first token within 1.5x of the in-process floor"][3] == "1.43x"
    greeting = next(row for row in table.rows if row[0].startswith("greeting, 50 streams"))
    assert greeting[3] == "0.62x"  # 125 runs/s against the floor's 200
    cpu = next(row for row in table.rows if "(greeting, 50 streams)" in row[0])
    assert cpu[3] == "1.50x"  # 3.0 s against 2.0 s of CPU for the same events
    # Measured for the reference server only (no HTTP floor run in it): shown as missing.
    assert rows["first token 30x or more sooner than langgraph dev"][3] == "-"
    assert rows["1,000 open streams held without error"][3] == "51 KiB per stream"
    assert rows["long answer at least 90% of the floor's tokens/s"][3] == "-"


def test_goals_without_the_reference_server_say_it_was_not_measured(results: BenchResults) -> None:
    results.contestants.pop(REFERENCE)
    table = goals_table(results)
    assert table.rows == []
    assert table.notes == ["The reference server was not measured in this run."]


def test_tables_render_as_text_and_markdown(results: BenchResults) -> None:
    tables = build_tables(results)
    text = render_text(tables)
    markdown = render_markdown(tables)
    assert "1. Time to the first token event" in text
    assert "3a. Completed runs per second" in text
    assert "| reference | 31.0 | 44.0 | 4 | 2.96x | 1.00x |" in markdown
    assert "200 (1 failed)" in markdown


def test_the_scale_out_table_sets_two_postgres_workers_against_one(
    results: BenchResults,
) -> None:
    results.contestants[REFERENCE_POSTGRES] = "postgres, 1 worker"
    results.contestants[REFERENCE_POSTGRES_TWO_WORKERS] = "postgres, 2 workers"
    # 100 runs a round: 1 worker in 2.0 s then 4.0 s, 2 workers in 1.0 s then 2.5 s.
    for key, walls, cpu in (
        (REFERENCE_POSTGRES, (2.0, 4.0), 1.8),
        (REFERENCE_POSTGRES_TWO_WORKERS, (1.0, 2.5), 2.6),
    ):
        for round_index, wall in enumerate(walls):
            samples = [RunSample(ok=True, latency=0.1, events=10) for _ in range(100)]
            record = _record(
                key, THROUGHPUT, round_index, samples, concurrency=50, wall=wall, cpu=cpu * wall
            )
            results.records.append(dataclasses.replace(record, client_cpu_seconds=0.5 * wall))
    table = next(t for t in build_tables(results) if t.title.startswith("3c. Scale-out"))
    # Round ratios 2.0 and 1.6: their median is 1.8.
    assert table.rows == [["greeting", "50", "37.5", "70.0", "1.80x", "180 / 260", "50 / 50"]]
    results.contestants.pop(REFERENCE_POSTGRES)
    assert not any(t.title.startswith("3c.") for t in build_tables(results))


def test_write_docs_replaces_only_the_generated_section(
    results: BenchResults, tmp_path: Path
) -> None:
    path = tmp_path / "benchmarks.md"
    path.write_text(
        f"# Title\n\nmethod\n\n{RESULTS_START}\nstale figures\n{RESULTS_END}\n\n## Profiles\nkept\n"
    )
    write_docs(path, results, "python -m bench --quick")
    text = path.read_text()
    assert text.startswith("# Title\n\nmethod\n\n" + RESULTS_START)
    assert text.endswith(f"{RESULTS_END}\n\n## Profiles\nkept\n")
    assert "stale figures" not in text
    assert "Test CPU, 2 cores" in text
    assert "`python -m bench --quick`" in text


def test_write_docs_creates_the_file_when_missing(results: BenchResults, tmp_path: Path) -> None:
    path = tmp_path / "docs" / "benchmarks.md"
    write_docs(path, results, "python -m bench")
    assert RESULTS_START in path.read_text()


def test_results_survive_a_json_round_trip(results: BenchResults) -> None:
    again = BenchResults.from_json(results.to_json())
    assert render_markdown(build_tables(again)) == render_markdown(build_tables(results))


def test_the_quick_plan_is_valid_and_sizes_batches() -> None:
    assert QUICK.batch_runs(1) == QUICK.min_batch_runs
    assert QUICK.throughput_rounds <= QUICK.rounds
    assert QUICK.batch_runs(100) == 100 * QUICK.runs_per_stream
    with pytest.raises(ValueError, match="rounds"):
        QUICK.with_overrides(rounds=0)


def test_goals_compare_server_cpu_per_event_with_the_floor_in_every_column(
    results: BenchResults,
) -> None:
    rows = {
        row[0].split("(")[1].rstrip(")"): row
        for row in goals_table(results).rows
        if row[0].startswith("server CPU per 1,000 events at most 1.25x")
    }
    selections = {
        "greeting, 1 at a time": {"figure": FIRST_TOKEN},
        "greeting, 50 streams": {"figure": THROUGHPUT, "workload": "greeting", "concurrency": 50},
        "tool round trip, 50 streams": {
            "figure": THROUGHPUT,
            "workload": "tool round trip",
            "concurrency": 50,
        },
        "long answer": {"figure": LONG_ANSWER},
    }
    assert list(rows) == list(selections)
    for name, selection in selections.items():
        reference = cpu_per_thousand_events(results, REFERENCE, **selection)  # type: ignore[arg-type]
        floor = cpu_per_thousand_events(results, FLOOR, **selection)  # type: ignore[arg-type]
        if not floor.median or math.isnan(reference.median):
            assert rows[name][2] == "not measured"
            continue
        expected = reference.median / floor.median
        assert rows[name][1] == f"{expected:.2f}x"
        assert rows[name][2] == ("met" if expected <= 1.25 else "NOT met")
