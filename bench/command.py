"""``python -m bench``: start the contestants, measure, print the table, write
``docs/benchmarks.md`` (and optionally the raw results as JSON)."""

from __future__ import annotations

import argparse
import dataclasses
import json
import resource
import shlex
import sys
from contextlib import AsyncExitStack
from pathlib import Path

from bench import event_loop
from bench.contestants import ALL_CONTESTANTS, ContestantOptions, Launcher
from bench.machine import describe_environment
from bench.plan import FULL, QUICK, Plan
from bench.report import build_tables, render_text, write_docs
from bench.results import FIRST_TOKEN, LONG_ANSWER, THROUGHPUT, BenchResults
from bench.runner import Runner

FIGURES = {
    "first-token": FIRST_TOKEN,
    "long-answer": LONG_ANSWER,
    "throughput": THROUGHPUT,
    "memory": "memory",
}
EXIT_OK = 0
EXIT_RUNS_FAILED = 1
EXIT_SETUP_FAILED = 2


def _comma_list(text: str) -> list[str]:
    items = [item.strip() for item in text.split(",") if item.strip()]
    if not items:
        raise argparse.ArgumentTypeError("expected a comma-separated list, got nothing")
    return items


def _positive_levels(text: str) -> tuple[int, ...]:
    try:
        levels = tuple(int(item) for item in _comma_list(text))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"concurrency levels are comma-separated integers, got {text!r}"
        ) from None
    if min(levels) < 1:
        raise argparse.ArgumentTypeError(f"concurrency levels must be positive, got {text!r}")
    return levels


def add_arguments(parser: argparse.ArgumentParser) -> None:
    size = parser.add_mutually_exclusive_group()
    size.add_argument(
        "--quick",
        dest="plan",
        action="store_const",
        const=QUICK.name,
        help="small counts, a few minutes on 2 cores (the default)",
    )
    size.add_argument(
        "--full",
        dest="plan",
        action="store_const",
        const=FULL.name,
        help="the published table: 500 concurrent streams, 1,000 held open, more rounds",
    )
    parser.set_defaults(plan=QUICK.name)
    parser.add_argument(
        "--contestants",
        type=_comma_list,
        default=None,
        help=f"comma-separated, in turn order, from {','.join(ALL_CONTESTANTS)} (default: "
        f"--quick {','.join(QUICK.contestants)}; --full all)",
    )
    parser.add_argument(
        "--figures",
        type=_comma_list,
        default=list(FIGURES),
        help=f"comma-separated subset of {','.join(FIGURES)} (default: all)",
    )
    parser.add_argument("--rounds", type=int, help="override the plan's number of rounds")
    parser.add_argument(
        "--concurrency", type=_positive_levels, help="override the plan's levels, e.g. 1,10,50"
    )
    parser.add_argument("--hold", type=int, help="override the number of streams held open")
    parser.add_argument(
        "--config", type=Path, default=Path("langgraph.json"), help="the langgraph.json to serve"
    )
    parser.add_argument("--graph", default="weather_agent", help="graph id (default weather_agent)")
    parser.add_argument(
        "--stream-mode",
        type=_comma_list,
        default=["values", "messages-tuple"],
        help="stream modes asked of the servers (default values,messages-tuple as useStream)",
    )
    parser.add_argument(
        "--endpoint",
        choices=("thread", "stateless"),
        default="thread",
        help="a fresh thread per run (default) or stateless /runs/stream",
    )
    parser.add_argument(
        "--reference-max-concurrent-runs",
        type=int,
        help="the reference server's --max-concurrent-runs (default: enough for the plan)",
    )
    parser.add_argument(
        "--langgraph-dev-jobs",
        type=int,
        help="--n-jobs-per-worker of the raised `langgraph dev` (default: the top concurrency)",
    )
    parser.add_argument(
        "--run-timeout", type=float, default=300.0, help="seconds one run may take (default 300)"
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=None,
        help="Markdown file to update (default docs/benchmarks.md next to the config)",
    )
    parser.add_argument("--no-docs", action="store_true", help="print only, write no Markdown")
    parser.add_argument("--json", type=Path, help="also save every raw measurement here")
    parser.add_argument(
        "--report-only",
        type=Path,
        metavar="JSON",
        help="measure nothing: print (and write) the tables of a run saved with --json",
    )


def _plan(args: argparse.Namespace) -> Plan:
    base = FULL if args.plan == FULL.name else QUICK
    return base.with_overrides(
        rounds=args.rounds,
        contestants=None if args.contestants is None else tuple(args.contestants),
        concurrency_levels=args.concurrency,
        hold_count=args.hold,
    )


def _raise_open_file_limit() -> None:
    # Each held stream costs a descriptor here, in the server and in the fake LLM; the
    # children inherit the raised limit.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def _command_line(args: argparse.Namespace) -> str:
    """The command that reproduces this run's plan, for the report."""
    parts = ["python", "-m", "bench", f"--{args.plan}"]
    if args.contestants is not None:
        parts += ["--contestants", ",".join(args.contestants)]
    if args.figures != list(FIGURES):
        parts += ["--figures", ",".join(args.figures)]
    for option, value in (("--rounds", args.rounds), ("--hold", args.hold)):
        if value is not None:
            parts += [option, str(value)]
    if args.concurrency is not None:
        parts += ["--concurrency", ",".join(str(level) for level in args.concurrency)]
    if args.stream_mode != ["values", "messages-tuple"]:
        parts += ["--stream-mode", ",".join(args.stream_mode)]
    if args.endpoint != "thread":
        parts += ["--endpoint", args.endpoint]
    return shlex.join(parts)


def _progress(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


async def _measure(
    args: argparse.Namespace, plan: Plan, options: ContestantOptions, results: BenchResults
) -> bool:
    """Start, measure, stop. False when nothing could be measured."""
    from conformance.fake_llm.process import start_fake_llm

    figures = [FIGURES[name] for name in args.figures]
    async with AsyncExitStack() as stack:
        _progress("starting the fake LLM and the contestants")
        llm = start_fake_llm()
        stack.callback(llm.stop)
        if llm.process is None:
            raise RuntimeError("the fake LLM has no process after starting")
        launcher = Launcher(options, llm)
        contestants, not_started = await launcher.start(stack, plan.contestants)
        for key, reason in not_started.items():
            results.notes.append(f"{key} could not be started and was not measured: {reason}")
            _progress(f"NOT MEASURED {key}: {reason}")
        if not contestants:
            return False
        results.contestants = {contestant.key: contestant.label for contestant in contestants}
        runner = Runner(
            contestants,
            plan,
            results,
            llm_pid=llm.process.pid,
            launcher=launcher,
            progress=_progress,
            figures=figures,
        )
        await runner.run()
    return True


def _report_only(args: argparse.Namespace) -> int:
    try:
        results = BenchResults.from_json(json.loads(args.report_only.read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError) as error:
        print(f"--report-only {args.report_only}: not a saved run ({error})", file=sys.stderr)
        return EXIT_SETUP_FAILED
    print(render_text(build_tables(results)))
    if not args.no_docs:
        output = args.output or args.config.resolve().parent / "docs" / "benchmarks.md"
        write_docs(output, results, str(results.environment.get("command", "python -m bench")))
        _progress(f"wrote {output}")
    return EXIT_OK


def run(args: argparse.Namespace) -> int:
    if args.report_only is not None:
        return _report_only(args)
    unknown_figures = [name for name in args.figures if name not in FIGURES]
    if unknown_figures:
        print(
            f"unknown figure(s) {', '.join(unknown_figures)}; known: {', '.join(FIGURES)}",
            file=sys.stderr,
        )
        return EXIT_SETUP_FAILED
    unknown = [key for key in args.contestants or () if key not in ALL_CONTESTANTS]
    if unknown:
        print(
            f"unknown contestant(s) {', '.join(unknown)}; known: {', '.join(ALL_CONTESTANTS)}",
            file=sys.stderr,
        )
        return EXIT_SETUP_FAILED
    config_path = args.config.resolve()
    if not config_path.is_file():
        print(f"--config {config_path} does not exist", file=sys.stderr)
        return EXIT_SETUP_FAILED
    try:
        plan = _plan(args)
    except ValueError as error:
        print(f"invalid plan: {error}", file=sys.stderr)
        return EXIT_SETUP_FAILED
    top_concurrency = max(plan.concurrency_levels)
    options = ContestantOptions(
        config_path=config_path,
        graph_id=args.graph,
        stream_mode=tuple(args.stream_mode),
        endpoint=args.endpoint,
        run_timeout=args.run_timeout,
        reference_max_concurrent_runs=args.reference_max_concurrent_runs
        or max(top_concurrency, plan.hold_count, 1),
        langgraph_dev_jobs=args.langgraph_dev_jobs or top_concurrency,
        floor_checkpointer=True,
    )
    environment = describe_environment()
    environment.update(
        {
            "graph_id": args.graph,
            "config": config_path.name,
            "stream_mode": ",".join(args.stream_mode),
            "endpoint": "a fresh thread per run"
            if args.endpoint == "thread"
            else "stateless /runs/stream",
        }
    )
    environment["command"] = _command_line(args)
    plan_data = dataclasses.asdict(plan)
    plan_data["figures"] = [FIGURES[name] for name in args.figures]
    results = BenchResults(plan=plan_data, contestants={}, environment=environment)
    _raise_open_file_limit()
    measured = event_loop.run(_measure(args, plan, options, results))
    if not measured:
        print("no contestant could be started; nothing was measured", file=sys.stderr)
        return EXIT_SETUP_FAILED
    tables = build_tables(results)
    print(render_text(tables))
    command = _command_line(args)
    if not args.no_docs:
        output = args.output or config_path.parent / "docs" / "benchmarks.md"
        write_docs(output, results, command)
        _progress(f"wrote {output}")
    if args.json:
        args.json.write_text(json.dumps(results.to_json(), indent=1), encoding="utf-8")
        _progress(f"wrote {args.json}")
    failed = sum(len(record.batch.failures) for record in results.records)
    if failed or results.notes:
        _progress(f"{failed} runs failed; see the tables' runs columns and the notes")
        return EXIT_RUNS_FAILED
    return EXIT_OK
