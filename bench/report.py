"""Turn a run's results into tables (figures, ratios, goals), printed as text and written as
Markdown into ``docs/benchmarks.md`` between two markers, so the hand-written analysis around
them survives a new run."""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bench.contestants import (
    FLOOR,
    HTTP_FLOOR,
    LANGGRAPH_DEV,
    LANGGRAPH_DEV_JOBS,
    REFERENCE,
    REFERENCE_POSTGRES,
    REFERENCE_POSTGRES_TWO_WORKERS,
)
from bench.figures import (
    Cell,
    cpu_per_thousand_events,
    first_token_ms,
    long_answer_rate,
    ratio,
    throughput,
)
from bench.results import FIRST_TOKEN, LONG_ANSWER, THROUGHPUT, BenchResults
from bench.workloads import GREETING, TOOL_ROUND_TRIP

RESULTS_START = "<!-- bench:results:start -->"
RESULTS_END = "<!-- bench:results:end -->"
# The hot path's goals (issue 8): the reference server against the graph driven in-process.
GOAL_FIRST_TOKEN_VS_FLOOR = 1.5
GOAL_FIRST_TOKEN_VS_LANGGRAPH_DEV = 30.0
GOAL_TOKENS_VS_FLOOR = 0.9
GOAL_RUNS_VS_FLOOR = 0.8
GOAL_CPU_VS_FLOOR = 1.25
GOAL_RUNS_CONCURRENCY = (50, 100)
GOAL_HELD_STREAMS = 1000
_MISSING = "-"


@dataclass(slots=True)
class Table:
    title: str
    headers: list[str]
    rows: list[list[str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _number(value: float | None, digits: int = 1) -> str:
    if value is None or math.isnan(value):
        return _MISSING
    return f"{value:,.{digits}f}"


def _times(value: float | None) -> str:
    if value is None or math.isnan(value):
        return _MISSING
    return f"{value:.2f}x" if value < 10 else f"{value:.0f}x"


def _runs(cell: Cell) -> str:
    return f"{cell.runs}" if not cell.failures else f"{cell.runs} ({cell.failures} failed)"


def _first_token_table(results: BenchResults) -> Table:
    table = Table(
        "1. Time to the first token event: greeting, fake LLM without delay, one run at a time",
        ["contestant", "median ms", "p99 ms", "runs", "x floor", "x reference"],
        notes=[
            "x floor / x reference: this contestant's time over theirs, round by round, median.",
            "First token event: the first `messages` (messages-tuple) or `messages/partial` "
            "event with content; for the floor, the first `messages` chunk with content.",
        ],
    )
    cells = {key: first_token_ms(results, key) for key in results.contestants}
    for key, label in results.contestants.items():
        cell = cells[key]
        table.rows.append(
            [
                label,
                _number(cell.median, 1),
                _number(cell.p99, 1),
                _runs(cell),
                _times(ratio(cell, cells[FLOOR])) if FLOOR in cells else _MISSING,
                _times(ratio(cell, cells[REFERENCE])) if REFERENCE in cells else _MISSING,
            ]
        )
    return table


def _long_answer_table(results: BenchResults) -> Table:
    tokens = results.plan["long_tokens"]
    table = Table(
        f"2. Streamed tokens per second: one long answer ({tokens:,} tokens), one at a time",
        ["contestant", "tokens/s", "run time s", "runs", "x floor", "x reference"],
        notes=[
            "tokens/s: (token events - 1) / (last token - first token) of one run; median of "
            "rounds. x floor / x reference: tokens/s over theirs, round by round, median.",
        ],
    )
    cells = {key: long_answer_rate(results, key) for key in results.contestants}
    for key, label in results.contestants.items():
        rate, run_time = cells[key]
        table.rows.append(
            [
                label,
                _number(rate.median, 0),
                _number(run_time.median, 2),
                _runs(rate),
                _times(ratio(rate, cells[FLOOR][0])) if FLOOR in cells else _MISSING,
                _times(ratio(rate, cells[REFERENCE][0])) if REFERENCE in cells else _MISSING,
            ]
        )
    return table


def _throughput_table(results: BenchResults, workload: str, letter: str) -> Table:
    table = Table(
        f"3{letter}. Completed runs per second and run latency: {workload}, closed loop",
        [
            "streams",
            "contestant",
            "runs/s",
            "median latency s",
            "p99 latency s",
            "runs",
            "x floor",
            "x reference",
            "server CPU %",
            "load generator CPU %",
        ],
        notes=[
            "streams: concurrent clients, each starting its next run when the last one ends. "
            "runs/s: median of rounds; latencies over every run of every round. "
            "x floor / x reference: runs/s over theirs, round by round, median. "
            "CPU %: CPU seconds over wall seconds of the batches (100 = one core busy): the "
            "contestant's process tree, and the load generator (for the in-process floor the "
            "load is generated inside the floor's own process). Near 100 the process is the "
            "bottleneck: Python runs one thread at a time.",
        ],
    )
    for concurrency in results.plan["concurrency_levels"]:
        cells = {
            key: throughput(results, key, workload, concurrency) for key in results.contestants
        }
        for key, label in results.contestants.items():
            rate, latency = cells[key]
            if not rate.runs:
                continue
            table.rows.append(
                [
                    str(concurrency),
                    label,
                    _number(rate.median, 1),
                    _number(latency.median, 3),
                    _number(latency.p99, 3),
                    _runs(rate),
                    _times(ratio(rate, cells[FLOOR][0])) if FLOOR in cells else _MISSING,
                    _times(ratio(rate, cells[REFERENCE][0])) if REFERENCE in cells else _MISSING,
                    *_cpu_shares(results, key, workload, concurrency),
                ]
            )
    return table


def _cpu_shares(
    results: BenchResults, contestant: str, workload: str, concurrency: int
) -> tuple[str, str]:
    records = results.batches(
        contestant=contestant, figure=THROUGHPUT, workload=workload, concurrency=concurrency
    )
    wall = sum(record.batch.wall_seconds for record in records)
    if not wall:
        return _MISSING, _MISSING
    server = sum(record.server_cpu_seconds for record in records) / wall * 100
    client = sum(record.client_cpu_seconds for record in records) / wall * 100
    return _number(server, 0), _number(client, 0)


def _cpu_columns(results: BenchResults) -> list[tuple[str, dict[str, object]]]:
    levels = results.plan["concurrency_levels"]
    busy = next((level for level in levels if level >= 10), max(levels))
    return [
        ("greeting, 1 at a time", {"figure": FIRST_TOKEN}),
        (
            f"greeting, {busy} streams",
            {"figure": THROUGHPUT, "workload": GREETING.name, "concurrency": busy},
        ),
        (
            f"tool round trip, {busy} streams",
            {"figure": THROUGHPUT, "workload": TOOL_ROUND_TRIP.name, "concurrency": busy},
        ),
        ("long answer", {"figure": LONG_ANSWER}),
    ]


def _cpu_table(results: BenchResults) -> Table:
    columns = _cpu_columns(results)
    table = Table(
        "4. Server CPU seconds per 1,000 events delivered",
        ["contestant", *(name for name, _ in columns)],
        notes=[
            "CPU: utime+stime of the contestant's whole process tree (/proc), read around each "
            "batch; events: SSE events received (for the floor: graph stream chunks; for the "
            "fake LLM: completion chunks). All rounds together: CPU summed over events summed.",
        ],
    )
    for key, label in results.contestants.items():
        row = [label]
        for _, selection in columns:
            cell = cpu_per_thousand_events(results, key, **selection)  # type: ignore[arg-type]
            row.append(_number(cell.median, 3))
        table.rows.append(row)
    client_cells = []
    for key in results.contestants:
        records = results.batches(contestant=key, figure=FIRST_TOKEN)
        events = sum(record.batch.events for record in records)
        cpu = sum(record.client_cpu_seconds for record in records)
        if events and key != FLOOR:
            client_cells.append(f"{key} {cpu / events * 1000:.3f}")
    if client_cells:
        table.notes.append(
            "The load generator's own CPU per 1,000 events (greeting, 1 at a time): "
            + ", ".join(client_cells)
            + "."
        )
    return table


def _memory_table(results: BenchResults) -> Table:
    count = results.plan["hold_count"]
    table = Table(
        f"5. Resident memory at rest, and with {count:,} streams held open by a slow fake LLM",
        [
            "contestant",
            "at rest MiB",
            "at rest PSS MiB",
            "streams open",
            "of them executing",
            "held MiB",
            "per open stream KiB",
            "failures",
        ],
        notes=[
            "Measured on a fresh instance of each contestant, started for this figure after "
            "the others (the fake LLM read directly is the shared one). RSS: VmRSS summed over "
            "the contestant's process tree; PSS counts the pages its processes share once (a "
            "forked worker shares its parent's imports). At rest: idle after a short warm-up. Per open stream: (RSS with the streams open - RSS just before) / streams "
            "open. Executing: streams that had delivered an event (a server that queues runs "
            "holds the rest with heartbeats only). The held runs ask `on_disconnect: cancel`, "
            "are closed after the reading and cancelled through the API, and the instance is "
            "stopped.",
        ],
    )
    for key, label in results.contestants.items():
        record = results.memory.get(key)
        if record is None:
            continue
        hold = record.hold
        per_stream = record.per_stream_bytes
        table.rows.append(
            [
                label,
                _number(record.rest_rss_bytes / 2**20, 0),
                _MISSING
                if record.rest_pss_bytes is None
                else _number(record.rest_pss_bytes / 2**20, 0),
                _MISSING if hold is None else f"{hold.opened}/{hold.requested}",
                _MISSING if hold is None else str(hold.active),
                _MISSING
                if record.held_rss_bytes is None
                else _number(record.held_rss_bytes / 2**20, 0),
                _MISSING if per_stream is None else _number(per_stream / 1024, 0),
                _MISSING if hold is None else (str(len(hold.failures)) if hold.failures else "0"),
            ]
        )
        if hold is not None and hold.failures:
            table.notes.append(f"{key}: {hold.failures[0]}")
        if hold is not None and hold.lingering:
            table.notes.append(
                f"{key}: {hold.lingering} of the held runs were still running 10 s after "
                "being cancelled"
            )
    return table


def _verdict(value: float | None, goal: float, *, at_least: bool) -> str:
    if value is None or math.isnan(value):
        return "not measured"
    met = value >= goal if at_least else value <= goal
    return "met" if met else "NOT met"


def goals_table(results: BenchResults) -> Table:
    contestants = results.contestants
    # The HTTP floor, measured the same way, shows what any server of the protocol pays on
    # this machine: a goal it misses too is out of reach for the reference server as well.
    with_http_floor = HTTP_FLOOR in contestants
    table = Table(
        "Goals for the reference server (this run)",
        ["goal", "measured", "verdict"] + (["HTTP floor, same measure"] if with_http_floor else []),
    )
    if REFERENCE not in contestants:
        table.notes.append("The reference server was not measured in this run.")
        return table

    def add(goal: str, measured: str, verdict: str, http_floor: str = _MISSING) -> None:
        table.rows.append([goal, measured, verdict] + ([http_floor] if with_http_floor else []))

    def floor_ratios(measure: Callable[[str], Cell]) -> tuple[float | None, str]:
        """The reference server's ratio to the floor, round by round, and the HTTP floor's,
        shown."""
        floor = measure(FLOOR)
        http_floor = ratio(measure(HTTP_FLOOR), floor) if with_http_floor else None
        return ratio(measure(REFERENCE), floor), _times(http_floor)

    def pooled_cpu_ratios(selection: dict[str, object]) -> tuple[float | None, str]:
        """CPU per event over the floor's, pooled over every round as table 4 shows them."""
        floor = cpu_per_thousand_events(results, FLOOR, **selection).median  # type: ignore[arg-type]

        def over_floor(key: str) -> float | None:
            own = cpu_per_thousand_events(results, key, **selection).median  # type: ignore[arg-type]
            return own / floor if floor else None

        return over_floor(REFERENCE), _times(over_floor(HTTP_FLOOR) if with_http_floor else None)

    reference_first = first_token_ms(results, REFERENCE)
    if FLOOR in contestants:
        value, http_floor = floor_ratios(lambda key: first_token_ms(results, key))
        add(
            f"first token within {GOAL_FIRST_TOKEN_VS_FLOOR:g}x of the in-process floor",
            _times(value),
            _verdict(value, GOAL_FIRST_TOKEN_VS_FLOOR, at_least=False),
            http_floor,
        )
    for dev in (LANGGRAPH_DEV, LANGGRAPH_DEV_JOBS):
        if dev in contestants:
            value = ratio(first_token_ms(results, dev), reference_first)
            add(
                f"first token {GOAL_FIRST_TOKEN_VS_LANGGRAPH_DEV:g}x or more sooner than "
                f"{contestants[dev]}",
                _times(value),
                _verdict(value, GOAL_FIRST_TOKEN_VS_LANGGRAPH_DEV, at_least=True),
            )
    if FLOOR in contestants:
        value, http_floor = floor_ratios(lambda key: long_answer_rate(results, key)[0])
        add(
            f"long answer at least {GOAL_TOKENS_VS_FLOOR:.0%} of the floor's tokens/s",
            _times(value),
            _verdict(value, GOAL_TOKENS_VS_FLOOR, at_least=True),
            http_floor,
        )
        for workload in (GREETING.name, TOOL_ROUND_TRIP.name):
            for concurrency in GOAL_RUNS_CONCURRENCY:
                if concurrency not in results.plan["concurrency_levels"]:
                    continue
                latency = throughput(results, REFERENCE, workload, concurrency)[1]
                value, http_floor = floor_ratios(
                    functools.partial(_runs_per_second, results, workload, concurrency)
                )
                add(
                    f"{workload}, {concurrency} streams: at least {GOAL_RUNS_VS_FLOOR:g}x the "
                    f"floor's runs/s (p99 {_number(latency.p99, 3)} s)",
                    _times(value),
                    _verdict(value, GOAL_RUNS_VS_FLOOR, at_least=True),
                    http_floor,
                )
        for name, selection in _cpu_columns(results):
            value, http_floor = pooled_cpu_ratios(selection)
            add(
                f"server CPU per 1,000 events at most {GOAL_CPU_VS_FLOOR:g}x the floor's ({name})",
                _times(value),
                _verdict(value, GOAL_CPU_VS_FLOOR, at_least=False),
                http_floor,
            )
    memory = results.memory.get(REFERENCE)
    if memory is not None and memory.hold is not None:
        hold = memory.hold
        held_all = hold.opened == hold.requested and not hold.failures
        measured = (
            f"{hold.opened}/{hold.requested} open, {len(hold.failures)} failures, "
            f"{_kibibytes(memory.per_stream_bytes)} KiB per stream"
        )
        if hold.requested < GOAL_HELD_STREAMS:
            verdict = (
                f"{'held' if held_all else 'NOT held'} (goal needs {GOAL_HELD_STREAMS:,}: --full)"
            )
        else:
            verdict = "met" if held_all else "NOT met"
        http_floor_memory = results.memory.get(HTTP_FLOOR)
        add(
            f"{GOAL_HELD_STREAMS:,} open streams held without error",
            measured,
            verdict,
            _MISSING
            if http_floor_memory is None
            else f"{_kibibytes(http_floor_memory.per_stream_bytes)} KiB per stream",
        )
    return table


def _runs_per_second(results: BenchResults, workload: str, concurrency: int, key: str) -> Cell:
    return throughput(results, key, workload, concurrency)[0]


def _kibibytes(value: float | None) -> str:
    return _number(None if value is None else value / 1024, 0)


def build_tables(results: BenchResults) -> list[Table]:
    tables = [goals_table(results)]
    figures = set(results.plan.get("figures", ()))
    if FIRST_TOKEN in figures:
        tables.append(_first_token_table(results))
    if LONG_ANSWER in figures:
        tables.append(_long_answer_table(results))
    if THROUGHPUT in figures:
        tables.append(_throughput_table(results, GREETING.name, "a"))
        tables.append(_throughput_table(results, TOOL_ROUND_TRIP.name, "b"))
        if {REFERENCE_POSTGRES, REFERENCE_POSTGRES_TWO_WORKERS} <= set(results.contestants):
            tables.append(_scale_out_table(results))
    tables.append(_cpu_table(results))
    tables.append(_memory_table(results))
    return tables


def _scale_out_table(results: BenchResults) -> Table:
    table = Table(
        "3c. Scale-out on Postgres: 2 workers against 1, closed loop",
        [
            "workload",
            "streams",
            "1 worker runs/s",
            "2 workers runs/s",
            "2 workers x 1",
            "server CPU % (1 / 2)",
            "load generator CPU % (1 / 2)",
        ],
        notes=[
            "Both on a Postgres cluster of their own, on the same machine. x 1: runs/s of 2 "
            "workers over 1 worker's, round by round, median. Server CPU: the reference "
            "server's process tree (granian and its workers), not Postgres's. The load "
            "generator shares the cores with the workers: its CPU share bounds what a second "
            "worker can add on a 2-core machine.",
        ],
    )
    for workload in (GREETING.name, TOOL_ROUND_TRIP.name):
        for concurrency in results.plan["concurrency_levels"]:
            one, _ = throughput(results, REFERENCE_POSTGRES, workload, concurrency)
            two, _ = throughput(results, REFERENCE_POSTGRES_TWO_WORKERS, workload, concurrency)
            if not one.runs or not two.runs:
                continue
            one_server, one_client = _cpu_shares(results, REFERENCE_POSTGRES, workload, concurrency)
            two_server, two_client = _cpu_shares(
                results, REFERENCE_POSTGRES_TWO_WORKERS, workload, concurrency
            )
            table.rows.append(
                [
                    workload,
                    str(concurrency),
                    _number(one.median, 1),
                    _number(two.median, 1),
                    _times(ratio(two, one)),
                    f"{one_server} / {two_server}",
                    f"{one_client} / {two_client}",
                ]
            )
    return table


def render_text(tables: Sequence[Table]) -> str:
    blocks: list[str] = []
    for table in tables:
        widths = [len(header) for header in table.headers]
        for row in table.rows:
            widths = [max(width, len(cell)) for width, cell in zip(widths, row, strict=True)]
        lines = [table.title, ""]
        lines.append("  ".join(h.ljust(w) for h, w in zip(table.headers, widths, strict=True)))
        lines.append("  ".join("-" * width for width in widths))
        for row in table.rows:
            lines.append(
                "  ".join(
                    cell.ljust(width) if index == 0 or not _numeric(cell) else cell.rjust(width)
                    for index, (cell, width) in enumerate(zip(row, widths, strict=True))
                )
            )
        lines.extend(f"  {note}" for note in table.notes)
        blocks.append("\n".join(line.rstrip() for line in lines))
    return "\n\n".join(blocks) + "\n"


_NUMERIC_CELL = re.compile(r"^(-|[\d,.]+(x| \(\d+ failed\))?|\d+/\d+)$")


def _numeric(cell: str) -> bool:
    """Figures are right-aligned in the text table, words left-aligned."""
    return _NUMERIC_CELL.match(cell) is not None


def _escape(cell: str) -> str:
    return cell.replace("|", "\\|")


def render_markdown(tables: Sequence[Table]) -> str:
    blocks: list[str] = []
    for table in tables:
        lines = [f"### {table.title}", ""]
        lines.append("| " + " | ".join(_escape(header) for header in table.headers) + " |")
        lines.append(
            "|"
            + "|".join("---" if index == 0 else "---:" for index in range(len(table.headers)))
            + "|"
        )
        lines.extend("| " + " | ".join(_escape(cell) for cell in row) + " |" for row in table.rows)
        if table.notes:
            lines.append("")
            lines.extend(f"- {note}" for note in table.notes)
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n"


def environment_markdown(results: BenchResults, command: str) -> str:
    environment = results.environment
    versions = ", ".join(f"{name} {version}" for name, version in environment["versions"].items())
    plan = results.plan
    lines = [
        f"Measured {environment['date']} with `{command}` (plan `{plan['name']}`).",
        "",
        f"- Machine: {environment['cpu_model']}, {environment['cpu_cores']} cores "
        f"({environment['usable_cores']} usable), {environment['memory']} memory, "
        f"Linux {environment['kernel']}; load average at start {environment['load_average_at_start']}.",
        f"- Python {environment['python']}; load generator and floor on {environment['load_generator_loop']}.",
        f"- Versions: {versions}.",
        f"- Graph `{environment['graph_id']}` from `{environment['config']}`; stream mode "
        f"{environment['stream_mode']}; endpoint: {environment['endpoint']}.",
        f"- Plan: {plan['rounds']} rounds ({plan.get('throughput_rounds', plan['rounds'])} for "
        f"figure 3), {plan['warmup_runs']} warm-up runs, "
        f"{plan['first_token_runs']} first-token runs per round, concurrency "
        f"{', '.join(str(level) for level in plan['concurrency_levels'])}, "
        f"{plan['hold_count']:,} held streams.",
    ]
    lines.extend(f"- Note: {note}" for note in results.notes)
    return "\n".join(lines) + "\n"


def write_docs(path: Path, results: BenchResults, command: str) -> None:
    """Replace the generated section of ``path`` (between the markers), or create the file."""
    generated = (
        f"{RESULTS_START}\n"
        "<!-- Written by `python -m bench`; edit outside the markers. -->\n\n"
        f"{environment_markdown(results, command)}\n"
        f"{render_markdown(build_tables(results))}"
        f"{RESULTS_END}"
    )
    if path.exists():
        text = path.read_text(encoding="utf-8")
        start, end = text.find(RESULTS_START), text.find(RESULTS_END)
        if start >= 0 and end > start:
            text = text[:start] + generated + text[end + len(RESULTS_END) :]
        else:
            text = text.rstrip("\n") + "\n\n## Results\n\n" + generated + "\n"
    else:
        text = "# Benchmarks\n\n## Results\n\n" + generated + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
