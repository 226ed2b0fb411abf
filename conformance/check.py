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
from conformance import data, mapped_behaviour, preflight, step_findings
from conformance.baseline import (
    Baseline,
    BaselineError,
    finding_id,
    load_baseline,
    write_baseline,
)
from conformance.capabilities import CAPABILITIES
from conformance.client import ScenarioError, TargetUnreachable
from conformance.compare import RELAXATIONS, Relax, compare
from conformance.extras import MissingExtra, require
from conformance.findings import Finding, Severity
from conformance.ignore import IgnoreRule, parse_ignore, split
from conformance.live_mode import LIVE_CONCURRENCY, LIVE_STEP_TIMEOUT_SECONDS, failing_model_url
from conformance.model_preflight import SCENARIO_GRAPHS_DEFAULT_MODEL
from conformance.normalise import normalise
from conformance.processes import ServerProcess, ServerStartError, free_port, python_module
from conformance.report.json_report import build_report, write_json
from conformance.report.junit import write_junit
from conformance.report.markdown import RULES_DOC, write_markdown
from conformance.report.results import (
    CheckResult,
    CheckRun,
    ExitCode,
    ScenarioResult,
    StaleEntry,
)
from conformance.report.terminal import ProgressPrinter, summary
from conformance.rules.engine import check_transcript, is_stream
from conformance.run_config_echo import with_model_settings
from conformance.scenarios import CATALOGUE
from conformance.scenarios.model import Stream, model_configurable
from conformance.target_setup import (
    as_written,
    delete_assistants,
    parse_assistant,
    scenario_graphs,
    with_assistants,
)
from conformance.transcript import Transcript, dump, load

DEFAULT_FIXTURES = data.fixtures_dir()
DEFAULT_CONFIG = data.langgraph_config()
DEFAULT_LIVE_LLM_URL = "http://localhost:7374/v1"
DEFAULT_CONCURRENCY = 4
DEFAULT_STEP_TIMEOUT_SECONDS = 30.0
FRAMING_CAPABILITY = "sse_framing"

INCOMPLETE_RULE = "scenario.incomplete"
"""Findings of a scenario the target would not let finish (a capture found nothing, a step
timed out): the target's doing, so a MUST failure rather than a tool error."""

LIVE_LLM_RELAXATION = (
    "live LLM: judged in the live-model mode (what the model decides is relaxed; statuses, "
    "errors, lifecycle, store and resumability compared)"
)
GRAPH_MAP_RELAXATION = (
    "graphs mapped with --graph: judged in the mapped-graph mode (what the graph decides is "
    "relaxed; statuses, errors, lifecycle, store and resumability compared)"
)


ASSISTANT_IGNORE = IgnoreRule(
    pattern="created_by",
    reason="runs used an assistant other than the graph's system assistant (created by the "
    "suite or named with --assistant), and runs copy its metadata: a created_by that the "
    "recording has as system is not compared",
    expected="system",
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


def exclude(
    scenarios: Sequence[Any],
    catalogue: Mapping[str, Any],
    *,
    scenarios_out: Sequence[str] = (),
    capabilities_out: Sequence[str] = (),
) -> tuple[list[Any], dict[str, str], dict[str, str]]:
    """Drop the scenarios declared out of scope. Returns the scenarios kept, and why each
    excluded scenario and each capability left without a scenario is NOT TESTED. Unknown names
    are an error."""
    unknown = [name for name in scenarios_out if name not in catalogue]
    if unknown:
        raise UsageError(
            f"--exclude-scenario: unknown scenario(s): {', '.join(unknown)}; "
            f"known: {', '.join(catalogue)}"
        )
    unknown = [name for name in capabilities_out if name not in CAPABILITIES]
    if unknown:
        raise UsageError(
            f"--exclude-capability: unknown capability(ies): {', '.join(unknown)}; "
            f"known: {', '.join(CAPABILITIES)}"
        )
    excluded_scenarios: dict[str, str] = {}
    kept = []
    for scenario in scenarios:
        if scenario.capability in capabilities_out:
            excluded_scenarios[scenario.name] = (
                f"excluded with --exclude-capability {scenario.capability}"
            )
        elif scenario.name in scenarios_out:
            excluded_scenarios[scenario.name] = "excluded with --exclude-scenario"
        else:
            kept.append(scenario)
    excluded_capabilities = {
        name: "excluded with --exclude-capability" for name in capabilities_out
    }
    for name in CAPABILITIES:
        own = [s.name for s in scenarios if s.capability == name]
        if name not in excluded_capabilities and own and all(n in excluded_scenarios for n in own):
            excluded_capabilities[name] = (
                f"its scenarios were excluded with --exclude-scenario: {', '.join(own)}"
            )
    return kept, excluded_scenarios, excluded_capabilities


def _catalogue() -> Mapping[str, Any]:
    return CATALOGUE


# --- judging one scenario ---------------------------------------------------------------------


def graphs_of(scenario: Any) -> frozenset[str]:
    """The graph ids a scenario runs (top-level ``assistant_id``/``graph_id`` of its request
    bodies, the fields ``--graph`` renames); captured ids (``{assistant_id}``) are not, nor
    graphs named by a step that expects an error (``no_such_graph``)."""
    graphs: set[str] = set()
    for step in scenario.steps:
        body = getattr(step, "body", None)
        if not isinstance(body, dict) or getattr(step, "expect_status", 200) >= 400:
            continue
        metadata = body.get("metadata")
        # A thread whose state is written without a run names its graph in its metadata.
        values = [body.get("assistant_id"), body.get("graph_id")]
        if isinstance(metadata, dict):
            values.append(metadata.get("graph_id"))
        for value in values:
            if isinstance(value, str) and value and "{" not in value:
                graphs.add(value)
    return frozenset(graphs)


def relaxations(scenario: Any, *, llm_mode: str, graph_map: Mapping[str, str]) -> frozenset[Relax]:
    """The comparison modes this scenario is judged in: ``Relax.GRAPH`` when it runs a graph
    that ``--graph`` mapped to one of the target's, ``Relax.MODEL`` when a live model
    decides its content."""
    modes: set[Relax] = set()
    if graphs_of(scenario) & set(graph_map):
        modes.add(Relax.GRAPH)
    if llm_mode == "live" and scenario.model_dependent:
        modes.add(Relax.MODEL)
    return frozenset(modes)


def relaxation(scenario: Any, *, llm_mode: str, graph_map: Mapping[str, str]) -> str:
    """Why this scenario is judged in a relaxed mode; empty when it is compared exactly."""
    modes = relaxations(scenario, llm_mode=llm_mode, graph_map=graph_map)
    reasons = []
    if Relax.GRAPH in modes:
        reasons.append(GRAPH_MAP_RELAXATION)
    if Relax.MODEL in modes:
        reasons.append(LIVE_LLM_RELAXATION)
    return "; ".join(reasons)


def relaxed_comparisons_note(modes: frozenset[Relax] = frozenset(Relax)) -> str:
    """What each relaxed mode leaves out, in the comparison's own words."""
    return "; ".join(
        f"{mode.value} mode relaxes: " + "; ".join(RELAXATIONS[mode])
        for mode in Relax
        if mode in modes
    )


def judge_transcript(
    scenario_name: str,
    fixture: Transcript,
    actual: Transcript,
    *,
    relax: frozenset[Relax] = frozenset(),
    graph_map: Mapping[str, str] | None = None,
    compare_values: bool | None = None,
    live_model: bool = False,
    runs_deleted_in: frozenset[str] = frozenset(),
) -> list[Finding]:
    """Rule findings on the target's own streams, then the replay comparison with the
    fixture. Pure: no I/O. ``live_model``: the target's graphs ran on a real model."""
    if compare_values is False and not relax:
        relax = frozenset(Relax)
    findings = list(check_transcript(actual, live_model=live_model))
    findings += compare(
        normalise(fixture),
        normalise(actual),
        relax=relax,
        graph_map=graph_map or {},
        runs_deleted_in=runs_deleted_in,
    )
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
    timeout: float = DEFAULT_STEP_TIMEOUT_SECONDS
    llm_model: str | None = None
    """Sent as ``configurable.model_name``; None: the graphs' own default."""
    llm_api_key: str | None = None
    """Sent as ``configurable.custom_api_key``."""
    failing_llm_url: str | None = None
    """The fault scenarios' model URL; None: ``llm_url`` (the fake LLM obeys ``fault:``)."""
    model_preflight: bool = False
    """Ask the model endpoint before judging (live mode)."""
    assistants: Mapping[str, str] = field(default_factory=dict)
    """graph -> assistant id named with ``--assistant``: the runs of that graph use it."""
    create_assistants: bool = True
    """Create (and afterwards delete) an assistant for a graph the target has none for."""
    ignore: tuple[IgnoreRule, ...] = ()
    """Fields and pointers left out of the verdict (``--ignore``)."""
    unserved_graphs: Mapping[str, str] = field(default_factory=dict)
    """Scenario graph -> why the target does not serve it (set by the set-up, which finds
    no assistant for it and cannot make one): its scenarios are NOT TESTED."""


def not_tested_reason(scenario: Any, target: Target) -> str:
    """Why ``scenario`` cannot be run against ``target``; empty when it can."""
    missing = sorted(graphs_of(scenario) & set(target.unserved_graphs))
    return "; ".join(target.unserved_graphs[graph] for graph in missing)


def preflight_context(
    target: Target, http: httpx.AsyncClient, scenarios: Sequence[Any]
) -> preflight.PreflightContext:
    """What the pre-flight checks of ``check`` and ``doctor`` need to know of the target."""
    return preflight.PreflightContext(
        url=target.url,
        http=http,
        scenarios=scenarios,
        llm_url=target.llm_url,
        llm_mode=target.llm_mode,
        llm_model=target.llm_model,
        llm_api_key=target.llm_api_key,
        check_model=target.model_preflight,
        named_assistants=target.assistants,
        graph_map=target.graph_map,
        create_assistants=target.create_assistants,
    )


def sent_model_settings(target: Target) -> dict[str, str]:
    """The run-config entries the check sends besides ``base_url`` (none by default)."""
    sent = model_configurable(target.llm_url, target.llm_model, target.llm_api_key)
    return {key: value for key, value in sent.items() if key != "base_url"}


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
    reason = not_tested_reason(scenario, target)
    if reason:
        return dataclasses.replace(base, not_tested=reason), None
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
            llm_model=target.llm_model,
            llm_api_key=target.llm_api_key,
            failing_llm_url=target.failing_llm_url,
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
        # What langgraph dev would have echoed had it been sent the same model settings.
        fixture = with_model_settings(scenario, fixture, sent_model_settings(target))
        # In a worker thread: judging a big transcript takes a few hundred ms of CPU, and on
        # the event loop it would stall the other scenarios' streams, whose arrival times
        # the delivery rules read.
        findings = await asyncio.to_thread(
            judge_transcript,
            scenario.name,
            fixture,
            transcript,
            relax=relaxations(scenario, llm_mode=target.llm_mode, graph_map=target.graph_map),
            graph_map=target.graph_map,
            live_model=target.llm_mode == "live",
            runs_deleted_in=frozenset(
                step.name
                for step in scenario.steps
                if isinstance(step, Stream) and step.run_deleted_under_it
            ),
        )
    except Exception as error:  # the judges promise never to raise; if one does, say so
        detail = "".join(traceback.format_exception_only(error)).strip()
        return dataclasses.replace(
            base,
            duration_s=time.monotonic() - started,
            error=f"the suite failed while judging: {detail}",
        ), transcript
    settled = tuple(step_findings.settle(scenario, aborted, findings, fixture))
    judged = dataclasses.replace(
        base,
        duration_s=time.monotonic() - started,
        findings=settled,
        also_exercised=_rule_capabilities(transcript),
    )
    if Relax.GRAPH in relaxations(scenario, llm_mode=target.llm_mode, graph_map=target.graph_map):
        judged = _unjudgeable_under_mapping(judged, scenario, fixture, transcript, target)
    return judged, transcript


def _unjudgeable_under_mapping(
    result: ScenarioResult,
    scenario: Any,
    fixture: Transcript,
    transcript: Transcript,
    target: Target,
) -> ScenarioResult:
    """NOT TESTED when the recording shows a behaviour of its graph (custom events, an
    interrupt) that the mapped graph never produced: the findings that follow from it are
    set aside (listed, not counted); the rules on the target's own streams still count."""
    missing = mapped_behaviour.missing_behaviours(fixture, transcript)
    if not missing:
        return result
    mapped = ", ".join(
        f"{graph}={target.graph_map[graph]}"
        for graph in sorted(graphs_of(scenario) & set(target.graph_map))
    )
    reason = (
        f"the recording shows {' and '.join(missing)}; the target's graph under --graph "
        f"{mapped} never produced it, so the scenario cannot be judged under this mapping"
    )
    kept = tuple(f for f in result.findings if not mapped_behaviour.set_aside(f.rule))
    aside = tuple(
        ("mapped graph lacks the recorded behaviour", f)
        for f in result.findings
        if mapped_behaviour.set_aside(f.rule)
    )
    return dataclasses.replace(
        result, findings=kept, ignored=result.ignored + aside, not_tested=reason
    )


# --- judging a target -------------------------------------------------------------------------


def stale_entries(baseline: Baseline, results: Sequence[ScenarioResult]) -> list[StaleEntry]:
    judged = {r.name for r in results if not r.error and not r.not_tested}
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
    modes = frozenset().union(
        *(relaxations(s, llm_mode=target.llm_mode, graph_map=target.graph_map) for s in scenarios)
    )
    if modes:
        run.notes.append(relaxed_comparisons_note(modes))
    started = time.monotonic()
    results: dict[str, ScenarioResult] = {}
    result = CheckResult(run=run, scenarios=[])
    if not scenarios:
        result.fatal_error = "no scenario selected: nothing to check"
        return result
    async with httpx.AsyncClient(
        base_url=target.url.rstrip("/"), headers=dict(target.headers), timeout=target.timeout
    ) as http:
        context = preflight_context(target, http, scenarios)
        try:
            await preflight.run_preflight(context)
        except preflight.PreflightFailure as error:
            result.fatal_error = str(error)
            run.duration_s = time.monotonic() - started
            return result
        run.notes += context.notes
        # Graphs the target does not serve: their scenarios are NOT TESTED (judge_scenario).
        target = dataclasses.replace(
            target, unserved_graphs={**context.plan.unserved, **target.unserved_graphs}
        )
        ignore = list(target.ignore)
        if context.plan.assistants:
            ignore.append(ASSISTANT_IGNORE)
        run.ignored = [{"pattern": rule.pattern, "reason": rule.reason} for rule in ignore]
        try:
            with _failing_model(target) as judged:
                await _judge_all(
                    scenarios,
                    judged,
                    ignore,
                    context.plan.assistants,
                    result,
                    results,
                    fixtures_dir=fixtures_dir,
                    baseline=baseline,
                    concurrency=concurrency,
                    on_result=on_result,
                    runner=runner,
                    transcripts=transcripts,
                )
        finally:
            # Also on failure and Ctrl-C (a cancelled run still gets here): what the suite
            # created must not change the target's next run.
            run.notes += context.plan.notes
            run.notes += await delete_assistants(http, context.plan.created)
    result.scenarios = [results[s.name] for s in scenarios if s.name in results]
    if not result.fatal_error:
        result.stale = stale_entries(baseline, result.scenarios)
    run.duration_s = time.monotonic() - started
    return result


@contextlib.contextmanager
def _failing_model(target: Target) -> Iterator[Target]:
    """In live mode, the target with a fake LLM for the fault scenarios, up for as long as
    the scenarios run (a real model obeys no ``fault:500``)."""
    if target.llm_mode != "live" or target.failing_llm_url is not None:
        yield target
        return
    with failing_model_url() as failing_llm_url:
        yield dataclasses.replace(target, failing_llm_url=failing_llm_url)


def _restoring(runner: ScenarioRunner | None, assistants: Mapping[str, str]) -> ScenarioRunner:
    """The runner, sending each run to the assistant chosen for its graph, its transcripts
    showing run bodies as the scenario wrote them. The scenario is rewritten here, not before
    judging: which graphs it runs decides its relaxations and whether it is NOT TESTED."""

    async def run_as_written(scenario: Any, *args: Any, **options: Any) -> Transcript:
        chosen = runner or conformance.client.run_scenario  # looked up now: tests replace it
        try:
            return as_written(
                await chosen(with_assistants(scenario, assistants), *args, **options), assistants
            )
        except ScenarioError as error:
            error.transcript = as_written(error.transcript, assistants)
            raise

    return run_as_written


async def _judge_all(
    scenarios: Sequence[Any],
    target: Target,
    ignore: Sequence[IgnoreRule],
    assistants: Mapping[str, str],
    result: CheckResult,
    results: dict[str, ScenarioResult],
    *,
    fixtures_dir: Path,
    baseline: Baseline,
    concurrency: int,
    on_result: Callable[[ScenarioResult], None] | None,
    runner: ScenarioRunner | None,
    transcripts: dict[str, Transcript] | None,
) -> None:
    gate = asyncio.Semaphore(max(1, concurrency))

    async def one(scenario: Any) -> None:
        async with gate:
            outcome, transcript = await judge_scenario(
                scenario,
                target,
                fixtures_dir=fixtures_dir,
                baseline=baseline,
                runner=_restoring(runner, assistants),
            )
        if ignore:
            kept, covered = split(outcome.findings, ignore)
            outcome = dataclasses.replace(
                outcome,
                findings=tuple(kept),
                ignored=outcome.ignored
                + tuple((rule.pattern, finding) for rule, finding in covered),
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
        "--llm-model",
        metavar="NAME",
        help="with --llm live: the model name the graphs ask the endpoint for (sent as "
        f"configurable.model_name); default: the graphs' own ({SCENARIO_GRAPHS_DEFAULT_MODEL}). "
        "vLLM answers 404 for a name it does not serve (--served-model-name)",
    )
    parser.add_argument(
        "--llm-api-key",
        metavar="KEY",
        help="with --llm live: the key for the model endpoint, sent as "
        "configurable.custom_api_key in the run config (the target stores it with the run, "
        "and langgraph dev echoes it in streams)",
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
        "--assistant",
        action="append",
        default=[],
        metavar="GRAPH=ASSISTANT_ID",
        help="run the scenarios of this graph with this existing assistant; repeatable",
    )
    parser.add_argument(
        "--create-assistants",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="when the target has no assistant for a graph (no system assistant), create one "
        "and delete it after the run (default); --no-create-assistants makes that exit 2",
    )
    parser.add_argument(
        "--exclude-scenario",
        action="append",
        default=[],
        metavar="NAME",
        help="out of scope: not run, reported NOT TESTED with the reason; repeatable",
    )
    parser.add_argument(
        "--exclude-capability",
        action="append",
        default=[],
        metavar="NAME",
        help="out of scope: its scenarios are not run, it is reported NOT TESTED; repeatable",
    )
    parser.add_argument(
        "--ignore",
        action="append",
        default=[],
        metavar="FIELD|POINTER",
        help="leave findings at this field (created_by, metadata/created_by) or JSON pointer "
        "(/kwargs/config/metadata) out of the verdict; the report lists them; repeatable",
    )
    parser.add_argument(
        "--save-transcripts",
        type=Path,
        metavar="DIR",
        help="write the target's transcript of each scenario to DIR/<scenario>.json "
        "(the fixtures' format)",
    )
    parser.add_argument(
        "--report-json", type=Path, metavar="PATH", help="the JSON report (source of truth)"
    )
    parser.add_argument("--junit", type=Path, metavar="PATH", help="JUnit XML for CI")
    parser.add_argument("--markdown", type=Path, metavar="PATH", help="Markdown for a PR")
    parser.add_argument(
        "--rules-doc",
        default=RULES_DOC,
        metavar="URL",
        help=f"where the Markdown report links each rule id (default {RULES_DOC}#<rule id>)",
    )
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
        metavar="N",
        help=f"scenarios run at once (default {DEFAULT_CONCURRENCY}; {LIVE_CONCURRENCY} with "
        "--llm live, where a real model answers one request at a time)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        metavar="SECONDS",
        help=f"bound on each step (default {DEFAULT_STEP_TIMEOUT_SECONDS:g}; "
        f"{LIVE_STEP_TIMEOUT_SECONDS:g} with --llm live)",
    )


def _write_reports(report: dict[str, Any], args: argparse.Namespace) -> None:
    # JSON first: it is the source of truth, and the others are made from it.
    if args.report_json:
        write_json(report, args.report_json)
    if args.junit:
        write_junit(report, args.junit)
    if args.markdown:
        write_markdown(report, args.markdown, rules_doc=args.rules_doc)


@dataclass(frozen=True, slots=True)
class _Plan:
    """The command line, checked: what to run against what."""

    scenarios: list[Any]
    baseline: Baseline
    headers: dict[str, str]
    graph_map: dict[str, str]
    assistants: dict[str, str]
    excluded_scenarios: dict[str, str]
    excluded_capabilities: dict[str, str]
    ignore: tuple[IgnoreRule, ...]


def _apply_mode_defaults(args: argparse.Namespace) -> None:
    """Concurrency and step timeout not given: what fits the LLM mode."""
    live = args.llm == "live"
    if args.concurrency is None:
        args.concurrency = LIVE_CONCURRENCY if live else DEFAULT_CONCURRENCY
    if args.timeout is None:
        args.timeout = LIVE_STEP_TIMEOUT_SECONDS if live else DEFAULT_STEP_TIMEOUT_SECONDS


def _validated(args: argparse.Namespace) -> _Plan:
    _apply_mode_defaults(args)
    if args.llm != "live" and (args.llm_model or args.llm_api_key):
        # The fixtures were recorded asking the fake LLM for the graphs' default model, which
        # the replies echo: another name would change every value the fake mode compares.
        raise UsageError("--llm-model and --llm-api-key go with --llm live")
    if args.concurrency < 1:
        raise UsageError(f"--concurrency {args.concurrency}: must be at least 1")
    if args.timeout <= 0:
        raise UsageError(f"--timeout {args.timeout}: must be positive")
    if not args.fixtures.is_dir():
        raise UsageError(f"--fixtures {args.fixtures}: not a directory")
    headers = dict(parse_header(text) for text in args.header)
    graph_map = dict(parse_graph_mapping(text) for text in args.graph)
    graphs = scenario_graphs()
    try:
        assistants = dict(parse_assistant(text, graphs) for text in args.assistant)
        ignore = tuple(parse_ignore(text) for text in args.ignore)
    except ValueError as error:
        raise UsageError(str(error)) from error
    catalogue = _catalogue()
    selected = select_scenarios(catalogue, args.scenario, args.capability)
    scenarios, excluded_scenarios, excluded_capabilities = exclude(
        selected,
        catalogue,
        scenarios_out=args.exclude_scenario,
        capabilities_out=args.exclude_capability,
    )
    baseline = load_baseline(args.baseline) if args.baseline else Baseline()
    unknown = baseline.unknown_scenarios(catalogue)
    if unknown:
        raise UsageError(
            f"baseline {args.baseline} names unknown scenario(s): {', '.join(unknown)}"
        )
    saved = args.save_transcripts
    if saved and saved.exists() and not saved.is_dir():
        raise UsageError(f"--save-transcripts {args.save_transcripts}: not a directory")
    if not args.target:
        try:
            require("server", "without --target, starting the bundled reference server")
        except MissingExtra as error:
            raise UsageError(f"{error}; or pass --target URL") from error
    return _Plan(
        scenarios=scenarios,
        baseline=baseline,
        headers=headers,
        graph_map=graph_map,
        assistants=assistants,
        excluded_scenarios=excluded_scenarios,
        excluded_capabilities=excluded_capabilities,
        ignore=ignore,
    )


def save_transcripts(transcripts: Mapping[str, Transcript], directory: Path) -> None:
    """Each scenario's target transcript as ``DIR/<scenario>.json``, loadable like a
    fixture."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, transcript in transcripts.items():
        dump(transcript, directory / f"{name}.json")


def run(args: argparse.Namespace, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    try:
        plan = _validated(args)
    except (UsageError, BaselineError) as error:
        out.write(f"conformance check: {error}\n")
        return int(ExitCode.COULD_NOT_RUN)
    scenarios, baseline = plan.scenarios, plan.baseline
    transcripts: dict[str, Transcript] = {}
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
                headers=plan.headers,
                graph_map=plan.graph_map,
                timeout=args.timeout,
                llm_model=args.llm_model,
                llm_api_key=args.llm_api_key,
                # A live model must answer before the target is charged with what it does.
                model_preflight=args.llm == "live",
                assistants=plan.assistants,
                create_assistants=args.create_assistants,
                ignore=plan.ignore,
            )
            record = CheckRun(
                target=target.url,
                target_kind="external" if args.target else "bundled reference server",
                llm_mode=args.llm,
                llm_url=target.llm_url,
                excluded_scenarios=plan.excluded_scenarios,
                excluded_capabilities=plan.excluded_capabilities,
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
                    transcripts=transcripts,
                )
            )
    except (ServerStartError, UsageError) as error:
        out.write(f"conformance check: could not start what the check needs: {error}\n")
        return int(ExitCode.COULD_NOT_RUN)
    except KeyboardInterrupt:
        # The run was cancelled: assistants it created were deleted on the way out.
        out.write("conformance check: interrupted; no verdict\n")
        return int(ExitCode.COULD_NOT_RUN)
    if args.save_transcripts:
        save_transcripts(transcripts, args.save_transcripts)
    report = build_report(result)
    _write_reports(report, args)
    if args.write_baseline:
        write_baseline(
            args.write_baseline,
            (
                (s.name, finding_id(s.name, f).partition("::")[2])
                for s in result.scenarios
                for f in s.findings
                if f.is_failure
            ),
        )
    out.write(summary(report))
    return int(result.exit_code)
