"""``conformance check``: replay the recorded sessions against a target and judge it.

For each selected scenario: run it against the target (``conformance.client``), apply the
protocol rules to every stream (``conformance.rules``), compare the normalised transcript with
the fixture recorded from ``langgraph dev`` (``conformance.compare``), then settle the verdict
with the baseline and the capability levels (``conformance.report.results``) and write the
reports: JSON first, the others made from it.

Without ``--target`` the suite starts the bundled reference server (in memory) and the fake
LLM on free ports and checks those. Exit 0 conformant, 1 findings, 2 the suite could not run
(an unreachable target, nothing selected, a missing fixture: never a pass).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import datetime
import sys
import time
import traceback
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import httpx

import conformance.client
from conformance import data
from conformance.baseline import Baseline, BaselineError, load_baseline, write_baseline
from conformance.capabilities import CAPABILITIES
from conformance.client import ScenarioError, TargetUnreachable
from conformance.compare import RELAXATIONS, compare
from conformance.findings import Finding, Severity
from conformance.normalise import normalise
from conformance.processes import ServerProcess, ServerStartError, free_port, python_module
from conformance.report.json_report import build_report, write_json
from conformance.report.junit import write_junit
from conformance.report.markdown import write_markdown
from conformance.report.results import (
    CheckResult,
    CheckRun,
    ExitCode,
    ScenarioResult,
    StaleEntry,
)
from conformance.report.terminal import ProgressPrinter, summary
from conformance.rules.engine import check_transcript, is_stream
from conformance.scenarios import CATALOGUE
from conformance.transcript import Transcript, load

DEFAULT_FIXTURES = data.fixtures_dir()
DEFAULT_CONFIG = data.langgraph_config()
DEFAULT_LIVE_LLM_URL = "http://localhost:7374/v1"
DEFAULT_CONCURRENCY = 4
FRAMING_CAPABILITY = "sse_framing"

INCOMPLETE_RULE = "scenario.incomplete"
"""Findings of a scenario the target would not let finish (a capture found nothing, a step
timed out): the target's doing, so a MUST failure rather than a tool error."""

LIVE_LLM_RELAXATION = (
    "live LLM: the content depends on the model, so values were not compared "
    "(rules, event order and payload shapes only)"
)
GRAPH_MAP_RELAXATION = (
    "graphs mapped with --graph: the target runs its own graphs, so values were not "
    "compared (rules, event order and payload shapes only)"
)


class UsageError(ValueError):
    """The command line asks for something the suite cannot do; the message says what."""


# --- what to run ------------------------------------------------------------------------------


def parse_header(text: str) -> tuple[str, str]:
    """``'Name: value'`` -> ``("Name", "value")``."""
    name, separator, value = text.partition(":")
    if not separator or not name.strip() or any(c.isspace() for c in name.strip()):
        raise UsageError(f"--header {text!r}: expected 'Name: value'")
    return name.strip(), value.strip()


def parse_graph_mapping(text: str) -> tuple[str, str]:
    """``'scenario_graph=its_graph'`` -> ``("scenario_graph", "its_graph")``."""
    ours, separator, theirs = text.partition("=")
    if not separator or not ours.strip() or not theirs.strip():
        raise UsageError(f"--graph {text!r}: expected 'scenario_graph=target_graph'")
    return ours.strip(), theirs.strip()


def select_scenarios(
    catalogue: Mapping[str, Any], names: Sequence[str] = (), capabilities: Sequence[str] = ()
) -> list[Any]:
    """The scenarios named, plus those of the capabilities named; all when neither is given.
    Catalogue order. Unknown names are an error, never silently ignored."""
    unknown = [name for name in names if name not in catalogue]
    if unknown:
        raise UsageError(
            f"unknown scenario(s): {', '.join(unknown)}; known: {', '.join(catalogue)}"
        )
    unknown = [name for name in capabilities if name not in CAPABILITIES]
    if unknown:
        raise UsageError(
            f"unknown capability(ies): {', '.join(unknown)}; known: {', '.join(CAPABILITIES)}"
        )
    if not names and not capabilities:
        return list(catalogue.values())
    return [
        scenario
        for name, scenario in catalogue.items()
        if name in names or scenario.capability in capabilities
    ]


def _catalogue() -> Mapping[str, Any]:
    return CATALOGUE


# --- judging one scenario ---------------------------------------------------------------------


def relaxation(scenario: Any, *, llm_mode: str, graph_map: Mapping[str, str]) -> str:
    """Why this scenario's values are not compared; empty when they are."""
    if graph_map:
        return GRAPH_MAP_RELAXATION
    if llm_mode == "live" and scenario.model_dependent:
        return LIVE_LLM_RELAXATION
    return ""


def relaxed_comparisons_note() -> str:
    """What a relaxed comparison leaves out, in the comparison's own words."""
    return "where values are not compared: " + "; ".join(RELAXATIONS)


def judge_transcript(
    scenario_name: str,
    fixture: Transcript,
    actual: Transcript,
    *,
    compare_values: bool,
) -> list[Finding]:
    """Rule findings on the target's own streams, then the replay comparison with the
    fixture. Pure: no I/O."""
    findings = list(check_transcript(actual))
    findings += compare(normalise(fixture), normalise(actual), compare_values=compare_values)
    return [
        finding if finding.scenario else dataclasses.replace(finding, scenario=scenario_name)
        for finding in findings
    ]


def _rule_capabilities(transcript: Transcript) -> frozenset[str]:
    # The framing and header rules run on every stream, so any stream exercises them.
    if any(is_stream(exchange) for exchange in transcript.exchanges):
        return frozenset({FRAMING_CAPABILITY})
    return frozenset()


ScenarioRunner = Callable[..., Awaitable[Transcript]]


@dataclass(frozen=True, slots=True)
class Target:
    """Where and how to run the scenarios."""

    url: str
    llm_url: str
    llm_mode: str = "fake"
    headers: Mapping[str, str] = field(default_factory=dict)
    graph_map: Mapping[str, str] = field(default_factory=dict)
    timeout: float = 30.0


async def judge_scenario(
    scenario: Any,
    target: Target,
    *,
    fixtures_dir: Path,
    baseline: Baseline,
    runner: ScenarioRunner | None = None,
) -> tuple[ScenarioResult, Transcript | None]:
    """Run one scenario against the target and judge it. ``TargetUnreachable`` propagates:
    the caller stops the whole check. Returns the result and the target's transcript (None
    when the scenario could not run)."""
    if runner is None:
        runner = conformance.client.run_scenario  # looked up now: a test may replace it
    relaxed = relaxation(scenario, llm_mode=target.llm_mode, graph_map=target.graph_map)
    base = ScenarioResult(
        name=scenario.name,
        capability=scenario.capability,
        description=scenario.description,
        duration_s=0.0,
        baselined_rules=baseline.rules_for(scenario.name),
        relaxed=relaxed,
    )
    started = time.monotonic()
    fixture_path = fixtures_dir / f"{scenario.name}.json"
    try:
        fixture = load(fixture_path)
    except FileNotFoundError:
        return dataclasses.replace(
            base,
            error=f"no recorded fixture {fixture_path}; record it with "
            f"`conformance record --scenario {scenario.name}`",
        ), None
    except ValueError as error:
        return dataclasses.replace(base, error=str(error)), None
    aborted: list[Finding] = []
    try:
        transcript = await runner(
            scenario,
            target.url,
            llm_url=target.llm_url,
            headers=dict(target.headers) or None,
            graph_map=dict(target.graph_map) or None,
            timeout=target.timeout,
        )
    except TargetUnreachable:
        raise
    except ScenarioError as error:
        transcript = error.transcript
        aborted.append(
            Finding(
                rule=INCOMPLETE_RULE,
                severity=Severity.MUST,
                message=f"the scenario could not go on: {error}",
                scenario=scenario.name,
                step=error.step,
            )
        )
    except Exception as error:  # a client bug or an unforeseen failure: never a pass
        detail = "".join(traceback.format_exception_only(error)).strip()
        return dataclasses.replace(
            base,
            duration_s=time.monotonic() - started,
            error=f"the suite failed while running the scenario: {detail}",
        ), None
    try:
        findings = judge_transcript(scenario.name, fixture, transcript, compare_values=not relaxed)
    except Exception as error:  # the judges promise never to raise; if one does, say so
        detail = "".join(traceback.format_exception_only(error)).strip()
        return dataclasses.replace(
            base,
            duration_s=time.monotonic() - started,
            error=f"the suite failed while judging: {detail}",
        ), transcript
    return dataclasses.replace(
        base,
        duration_s=time.monotonic() - started,
        findings=tuple(aborted + findings),
        also_exercised=_rule_capabilities(transcript),
    ), transcript


# --- judging a target -------------------------------------------------------------------------


async def ensure_reachable(url: str, headers: Mapping[str, str], timeout: float = 5.0) -> None:
    """Any HTTP answer at all means reachable; only a failure to connect is fatal."""
    try:
        async with httpx.AsyncClient(timeout=timeout) as http:
            await http.get(url.rstrip("/") + "/ok", headers=dict(headers))
    except httpx.HTTPError as error:
        raise TargetUnreachable(
            f"target {url} is unreachable ({type(error).__name__}: {error})"
        ) from error


def stale_entries(baseline: Baseline, results: Sequence[ScenarioResult]) -> list[StaleEntry]:
    judged = {r.name for r in results if not r.error}
    failing = {r.name: [f for f in r.findings if f.is_failure] for r in results}
    return [StaleEntry(s, rule) for s, rule in baseline.stale(failing, judged)]


async def check_target(
    scenarios: Sequence[Any],
    target: Target,
    *,
    fixtures_dir: Path = DEFAULT_FIXTURES,
    baseline: Baseline | None = None,
    concurrency: int = DEFAULT_CONCURRENCY,
    run: CheckRun | None = None,
    on_result: Callable[[ScenarioResult], None] | None = None,
    runner: ScenarioRunner | None = None,
    transcripts: dict[str, Transcript] | None = None,
) -> CheckResult:
    """Judge ``scenarios`` against ``target``, at most ``concurrency`` at a time.

    Never raises for a target's behaviour: an unreachable target becomes ``fatal_error``
    (exit 2). ``transcripts``, when given, receives each scenario's target transcript (the
    pytest plugin snapshots them).
    """
    baseline = baseline or Baseline()
    run = run or CheckRun(
        target=target.url, target_kind="external", llm_mode=target.llm_mode, llm_url=target.llm_url
    )
    run.started_at = run.started_at or datetime.datetime.now(datetime.UTC).isoformat(
        timespec="seconds"
    )
    run.graph_map = dict(target.graph_map)
    run.baseline_path = baseline.path
    if target.graph_map and GRAPH_MAP_RELAXATION not in run.notes:
        run.notes.append(GRAPH_MAP_RELAXATION)
    if any(relaxation(s, llm_mode=target.llm_mode, graph_map=target.graph_map) for s in scenarios):
        run.notes.append(relaxed_comparisons_note())
    started = time.monotonic()
    results: dict[str, ScenarioResult] = {}
    result = CheckResult(run=run, scenarios=[])
    if not scenarios:
        result.fatal_error = "no scenario selected: nothing to check"
        return result
    try:
        await ensure_reachable(target.url, target.headers)
    except TargetUnreachable as error:
        result.fatal_error = str(error)
        run.duration_s = time.monotonic() - started
        return result
    gate = asyncio.Semaphore(max(1, concurrency))

    async def one(scenario: Any) -> None:
        async with gate:
            outcome, transcript = await judge_scenario(
                scenario, target, fixtures_dir=fixtures_dir, baseline=baseline, runner=runner
            )
        results[scenario.name] = outcome
        if transcripts is not None and transcript is not None:
            transcripts[scenario.name] = transcript
        if on_result is not None:
            on_result(outcome)

    try:
        async with asyncio.TaskGroup() as group:
            for scenario in scenarios:
                group.create_task(one(scenario))
    except* TargetUnreachable as errors:
        result.fatal_error = f"target {target.url} became unreachable: {errors.exceptions[0]}"
    result.scenarios = [results[s.name] for s in scenarios if s.name in results]
    if not result.fatal_error:
        result.stale = stale_entries(baseline, result.scenarios)
    run.duration_s = time.monotonic() - started
    return result


# --- the bundled target -----------------------------------------------------------------------


def start_reference_server(config: Path = DEFAULT_CONFIG) -> ServerProcess:
    """The bundled reference server, in memory, on a free loopback port; started."""
    if not config.is_file():
        raise UsageError(f"no langgraph.json at {config}; pass --config")
    port = free_port()
    argv = python_module(
        "reference_server",
        "--config",
        str(config),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--in-memory",
    )
    return ServerProcess(
        argv, port=port, ready_path="/ok", cwd=config.parent, name="reference-server"
    ).start()


@contextlib.contextmanager
def _services(
    *, need_llm: bool, need_server: bool, config: Path, out: TextIO
) -> Iterator[tuple[str | None, str | None]]:
    """Start what the run needs; yields (server url, fake LLM url); stops only what it
    started."""
    started: list[ServerProcess] = []
    try:
        llm_url = server_url = None
        if need_llm:
            from conformance.fake_llm.process import start_fake_llm

            llm = start_fake_llm()
            started.append(llm)
            llm_url = llm.url + "/v1"
            out.write(f"started the fake LLM at {llm_url}\n")
        if need_server:
            server = start_reference_server(config)
            started.append(server)
            server_url = server.url
            out.write(f"started the bundled reference server at {server_url}\n")
        yield server_url, llm_url
    finally:
        for process in reversed(started):
            process.stop()


# --- the command ------------------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--target",
        metavar="URL",
        help="the server to check; without it the bundled reference server is started",
    )
    parser.add_argument(
        "--llm",
        choices=("fake", "live"),
        default="fake",
        help="fake: the deterministic fake LLM, values compared (default); live: a real "
        "model, model-dependent scenarios judged by rules and shapes only",
    )
    parser.add_argument(
        "--llm-url",
        metavar="URL",
        help="OpenAI-compatible base URL the target's graphs call; default: a fake LLM the "
        f"suite starts (--llm fake) or {DEFAULT_LIVE_LLM_URL} (--llm live)",
    )
    parser.add_argument(
        "--scenario",
        action="append",
        default=[],
        metavar="NAME",
        help="check this scenario (repeatable); default: the whole catalogue",
    )
    parser.add_argument(
        "--capability",
        action="append",
        default=[],
        metavar="NAME",
        help="check the scenarios of this capability (repeatable)",
    )
    parser.add_argument(
        "--baseline",
        type=Path,
        metavar="FILE",
        help="expected failures: 'scenario::rule' per line (or a JSON list); "
        "a listed failure passes, a listed entry that passes fails as stale",
    )
    parser.add_argument(
        "--write-baseline",
        type=Path,
        metavar="FILE",
        help="write this run's failures as a baseline file",
    )
    parser.add_argument(
        "--header",
        action="append",
        default=[],
        metavar="'Name: value'",
        help="sent with every request (e.g. auth); repeatable",
    )
    parser.add_argument(
        "--graph",
        action="append",
        default=[],
        metavar="OURS=THEIRS",
        help="map a scenario graph id to one the target serves; judged by rules and shapes "
        "only; repeatable",
    )
    parser.add_argument(
        "--report-json", type=Path, metavar="PATH", help="the JSON report (source of truth)"
    )
    parser.add_argument("--junit", type=Path, metavar="PATH", help="JUnit XML for CI")
    parser.add_argument("--markdown", type=Path, metavar="PATH", help="Markdown for a PR")
    parser.add_argument(
        "--fixtures", type=Path, default=DEFAULT_FIXTURES, metavar="DIR", help="recorded sessions"
    )
    parser.add_argument(
        "--config",
        type=Path,
        default=DEFAULT_CONFIG,
        metavar="FILE",
        help="langgraph.json for the bundled reference server",
    )
    parser.add_argument(
        "--concurrency",
        type=int,
        default=DEFAULT_CONCURRENCY,
        metavar="N",
        help=f"scenarios run at once (default {DEFAULT_CONCURRENCY})",
    )
    parser.add_argument(
        "--timeout", type=float, default=30.0, metavar="SECONDS", help="bound on each step"
    )


def _write_reports(report: dict[str, Any], args: argparse.Namespace) -> None:
    # JSON first: it is the source of truth, and the others are made from it.
    if args.report_json:
        write_json(report, args.report_json)
    if args.junit:
        write_junit(report, args.junit)
    if args.markdown:
        write_markdown(report, args.markdown)


def _validated(
    args: argparse.Namespace,
) -> tuple[list[Any], Baseline, dict[str, str], dict[str, str]]:
    if args.concurrency < 1:
        raise UsageError(f"--concurrency {args.concurrency}: must be at least 1")
    if args.timeout <= 0:
        raise UsageError(f"--timeout {args.timeout}: must be positive")
    if not args.fixtures.is_dir():
        raise UsageError(f"--fixtures {args.fixtures}: not a directory")
    headers = dict(parse_header(text) for text in args.header)
    graph_map = dict(parse_graph_mapping(text) for text in args.graph)
    catalogue = _catalogue()
    scenarios = select_scenarios(catalogue, args.scenario, args.capability)
    baseline = load_baseline(args.baseline) if args.baseline else Baseline()
    unknown = baseline.unknown_scenarios(catalogue)
    if unknown:
        raise UsageError(
            f"baseline {args.baseline} names unknown scenario(s): {', '.join(unknown)}"
        )
    return scenarios, baseline, headers, graph_map


def run(args: argparse.Namespace, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    try:
        scenarios, baseline, headers, graph_map = _validated(args)
    except (UsageError, BaselineError) as error:
        out.write(f"conformance check: {error}\n")
        return int(ExitCode.COULD_NOT_RUN)
    need_llm = args.llm == "fake" and not args.llm_url
    llm_url = args.llm_url or (DEFAULT_LIVE_LLM_URL if args.llm == "live" else None)
    try:
        with _services(
            need_llm=need_llm and bool(scenarios),
            need_server=not args.target and bool(scenarios),
            config=args.config,
            out=out,
        ) as (server_url, started_llm_url):
            target = Target(
                url=args.target or server_url or "",
                llm_url=llm_url or started_llm_url or "",
                llm_mode=args.llm,
                headers=headers,
                graph_map=graph_map,
                timeout=args.timeout,
            )
            record = CheckRun(
                target=target.url,
                target_kind="external" if args.target else "bundled reference server",
                llm_mode=args.llm,
                llm_url=target.llm_url,
            )
            printer = ProgressPrinter(out, len(scenarios))
            result = asyncio.run(
                check_target(
                    scenarios,
                    target,
                    fixtures_dir=args.fixtures,
                    baseline=baseline,
                    concurrency=args.concurrency,
                    run=record,
                    on_result=printer.scenario_done,
                )
            )
    except (ServerStartError, UsageError) as error:
        out.write(f"conformance check: could not start what the check needs: {error}\n")
        return int(ExitCode.COULD_NOT_RUN)
    report = build_report(result)
    _write_reports(report, args)
    if args.write_baseline:
        write_baseline(
            args.write_baseline,
            ((s.name, f.rule) for s in result.scenarios for f in s.findings if f.is_failure),
        )
    out.write(summary(report))
    return int(result.exit_code)
