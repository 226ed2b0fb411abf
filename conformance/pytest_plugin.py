"""pytest plugin: ``pytest --conformance-target URL`` runs ``conformance check`` as tests.

Registered as a ``pytest11`` entry point, so it loads in every pytest run: without
``--conformance-target`` it adds its options and does nothing else.

With a target it adds, per selected scenario, the items
``conformance::<scenario>::replay`` (the comparison with the recorded ``langgraph dev``
session) and ``conformance::<scenario>::<rule id>`` for every rule of the catalogue, plus
``conformance::capabilities::<capability>`` for the levels. All share one check of the target,
made when the first of them runs. A baselined failure is an xfail, a stale baseline entry a
failure, a SHOULD finding a warning; a target the suite cannot reach errors every item (never
a pass, never a skip). A capability nothing exercised is skipped as NOT TESTED.

Snapshots follow syrupy's convention: ``--snapshot-update`` records the target's own
normalised transcript of each scenario (one file per scenario, in
``<rootdir>/__snapshots__/conformance`` or ``--conformance-snapshot-dir``), and from then on
every run with ``--conformance-target`` compares them, as ``conformance::<scenario>::snapshot``
items, without any other option; syrupy reports snapshots no scenario produced as unused.
``--conformance-snapshots`` adds the items before anything is recorded (each then fails:
nothing to compare with).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import pytest

if TYPE_CHECKING:
    from conformance.check import Target
    from conformance.report.results import CheckResult, ScenarioResult
    from conformance.transcript import Transcript

ROOT_NAME = "conformance"
REPLAY_ITEM = "replay"
SNAPSHOT_ITEM = "snapshot"
SNAPSHOT_SUFFIX = "transcript.json"
CAPABILITIES_NAME = "capabilities"
_REPLAY_PREFIXES = ("replay.", "scenario.")
_ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")
"""Rules reported by the ``replay`` item: divergences from the fixture, and scenarios the
target would not let finish."""


class ConformanceWarning(UserWarning):
    """A SHOULD (or MAY) finding: worth knowing, not a failure."""


class CouldNotRun(Exception):
    """The suite could not judge this (unreachable target, missing fixture): an error."""


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("conformance", "LangGraph streaming API conformance")
    group.addoption(
        "--conformance-target",
        metavar="URL",
        help="check this server against the recorded langgraph dev sessions and the rules",
    )
    group.addoption(
        "--conformance-llm",
        choices=("fake", "live"),
        default="fake",
        help="fake (default): values compared; live: model-dependent scenarios by shapes only",
    )
    group.addoption(
        "--conformance-llm-url",
        metavar="URL",
        help="OpenAI-compatible base URL the target's graphs call (default: a fake LLM the "
        "plugin starts)",
    )
    group.addoption(
        "--conformance-llm-model",
        metavar="NAME",
        help="with live: model name sent to the graphs as configurable.model_name",
    )
    group.addoption(
        "--conformance-llm-api-key",
        metavar="KEY",
        help="with live: model endpoint key sent to the graphs as configurable.custom_api_key",
    )
    group.addoption("--conformance-header", action="append", default=[], metavar="'Name: value'")
    group.addoption("--conformance-scenario", action="append", default=[], metavar="NAME")
    group.addoption("--conformance-capability", action="append", default=[], metavar="NAME")
    group.addoption("--conformance-graph", action="append", default=[], metavar="OURS=THEIRS")
    group.addoption(
        "--conformance-assistant",
        action="append",
        default=[],
        metavar="GRAPH=ASSISTANT_ID",
        help="run this graph's scenarios with this existing assistant",
    )
    group.addoption(
        "--conformance-no-create-assistants",
        action="store_true",
        help="do not create stand-in assistants for graphs the target has none for",
    )
    group.addoption(
        "--conformance-exclude-scenario",
        action="append",
        default=[],
        metavar="NAME",
        help="out of scope: deselected, reported NOT TESTED",
    )
    group.addoption(
        "--conformance-exclude-capability",
        action="append",
        default=[],
        metavar="NAME",
        help="out of scope: its scenarios deselected, the capability skipped as NOT TESTED",
    )
    group.addoption(
        "--conformance-ignore",
        action="append",
        default=[],
        metavar="FIELD|POINTER",
        help="leave findings at this field or JSON pointer out of the verdict",
    )
    group.addoption("--conformance-baseline", metavar="FILE", help="expected failures")
    group.addoption("--conformance-fixtures", metavar="DIR", help="recorded sessions")
    group.addoption("--conformance-report-json", metavar="PATH", help="write the JSON report")
    group.addoption(
        "--conformance-concurrency", type=int, metavar="N", help="default 4; 1 with live"
    )
    group.addoption(
        "--conformance-timeout", type=float, metavar="SECONDS", help="default 30; 180 with live"
    )
    group.addoption(
        "--conformance-snapshots",
        action="store_true",
        help="add the snapshot items even before any snapshot is recorded (once recorded "
        "with --snapshot-update, they are compared on every run anyway)",
    )
    group.addoption(
        "--conformance-snapshot-dir",
        metavar="DIR",
        help="where the snapshots live (default: <rootdir>/__snapshots__/conformance)",
    )


def _active(config: pytest.Config) -> bool:
    return bool(config.getoption("conformance_target", default=None))


def _snapshot_dir(config: pytest.Config) -> Path:
    chosen = config.getoption("conformance_snapshot_dir", default=None)
    return Path(chosen).resolve() if chosen else config.rootpath / "__snapshots__" / ROOT_NAME


def _snapshots_exist(config: pytest.Config) -> bool:
    directory = _snapshot_dir(config)
    return directory.is_dir() and any(directory.glob(f"*.{SNAPSHOT_SUFFIX}"))


def _wants_snapshots(config: pytest.Config) -> bool:
    """Asked for, being recorded, or recorded before: compared whenever they exist."""
    return bool(
        config.getoption("conformance_snapshots", default=False)
        or config.getoption("update_snapshots", default=False)
        or _snapshots_exist(config)
    )


def pytest_configure(config: pytest.Config) -> None:
    if not _active(config):
        return
    config.addinivalue_line("markers", "conformance: a LangGraph streaming conformance check")
    config.stash[_SESSION_KEY] = _ConformanceSession(config)
    config.pluginmanager.register(_Deselection(), "conformance-deselection")


# --- one check of the target, shared by every item ----------------------------------------------


class _ConformanceSession:
    """Options parsed once; the check made once, on first use; services stopped at the end."""

    def __init__(self, config: pytest.Config) -> None:
        from conformance import check
        from conformance.baseline import Baseline, load_baseline

        self.config = config
        option = config.getoption
        try:
            self.headers = dict(check.parse_header(h) for h in option("conformance_header"))
            self.graph_map = dict(check.parse_graph_mapping(g) for g in option("conformance_graph"))
            from conformance.ignore import parse_ignore
            from conformance.target_setup import parse_assistant, scenario_graphs

            graphs = scenario_graphs()
            self.assistants = dict(
                parse_assistant(text, graphs) for text in option("conformance_assistant")
            )
            self.ignore = tuple(parse_ignore(text) for text in option("conformance_ignore"))
            catalogue = check._catalogue()
            self.catalogue_names = list(catalogue)
            selected = check.select_scenarios(
                catalogue, option("conformance_scenario"), option("conformance_capability")
            )
            self.scenarios, self.excluded_scenarios, self.excluded_capabilities = check.exclude(
                selected,
                catalogue,
                scenarios_out=option("conformance_exclude_scenario"),
                capabilities_out=option("conformance_exclude_capability"),
            )
            baseline_path = option("conformance_baseline")
            self.baseline = load_baseline(Path(baseline_path)) if baseline_path else Baseline()
            unknown = self.baseline.unknown_scenarios(catalogue)
            if unknown:
                raise check.UsageError(
                    f"baseline {baseline_path} names unknown scenario(s): {', '.join(unknown)}"
                )
        except ValueError as error:
            raise pytest.UsageError(f"conformance: {error}") from error
        fixtures = option("conformance_fixtures")
        self.fixtures_dir = Path(fixtures) if fixtures else check.DEFAULT_FIXTURES
        if not self.fixtures_dir.is_dir():
            raise pytest.UsageError(
                f"conformance: --conformance-fixtures {self.fixtures_dir}: not a directory"
            )
        self.target_url: str = option("conformance_target")
        if _wants_snapshots(config):
            _configure_snapshots(config)
        self._result: CheckResult | None = None
        self.transcripts: dict[str, Transcript] = {}
        self._stack = contextlib.ExitStack()
        self._lock = threading.Lock()

    def result(self) -> CheckResult:
        with self._lock:
            if self._result is None:
                self._result = self._check()
            return self._result

    def scenario(self, name: str) -> ScenarioResult:
        """The scenario's result; raises CouldNotRun when there is none to judge."""
        from conformance.report.results import ScenarioStatus

        result = self.result()
        if result.fatal_error:
            raise CouldNotRun(result.fatal_error)
        for scenario in result.scenarios:
            if scenario.name == name:
                if scenario.status is ScenarioStatus.ERROR:
                    raise CouldNotRun(scenario.error)
                return scenario
        raise CouldNotRun(f"scenario {name} produced no result")

    def _target(self) -> Target:
        from conformance import check
        from conformance.live_mode import LIVE_STEP_TIMEOUT_SECONDS

        option = self.config.getoption
        llm_mode = option("conformance_llm")
        llm_url = option("conformance_llm_url")
        if not llm_url and llm_mode == "live":
            llm_url = check.DEFAULT_LIVE_LLM_URL
        if not llm_url:
            from conformance.fake_llm.process import start_fake_llm

            llm = start_fake_llm()
            self._stack.callback(llm.stop)
            llm_url = llm.url + "/v1"
        return check.Target(
            url=self.target_url,
            llm_url=llm_url,
            llm_mode=llm_mode,
            headers=self.headers,
            graph_map=self.graph_map,
            timeout=option("conformance_timeout")
            or (
                LIVE_STEP_TIMEOUT_SECONDS
                if llm_mode == "live"
                else check.DEFAULT_STEP_TIMEOUT_SECONDS
            ),
            llm_model=option("conformance_llm_model"),
            llm_api_key=option("conformance_llm_api_key"),
            model_preflight=llm_mode == "live",
            assistants=self.assistants,
            create_assistants=not option("conformance_no_create_assistants"),
            ignore=self.ignore,
        )

    def _check(self) -> CheckResult:
        from conformance import check
        from conformance.live_mode import LIVE_CONCURRENCY
        from conformance.report.results import CheckResult, CheckRun

        try:
            target = self._target()
        except Exception as error:  # e.g. the fake LLM would not start
            run = CheckRun(target=self.target_url, target_kind="external", llm_mode="", llm_url="")
            return CheckResult(run=run, scenarios=[], fatal_error=f"cannot start: {error}")
        run = CheckRun(
            target=target.url,
            target_kind="external",
            llm_mode=target.llm_mode,
            llm_url=target.llm_url,
            excluded_scenarios=self.excluded_scenarios,
            excluded_capabilities=self.excluded_capabilities,
        )
        coroutine = check.check_target(
            self.scenarios,
            target,
            run=run,
            fixtures_dir=self.fixtures_dir,
            baseline=self.baseline,
            concurrency=self.config.getoption("conformance_concurrency")
            or (LIVE_CONCURRENCY if target.llm_mode == "live" else check.DEFAULT_CONCURRENCY),
            transcripts=self.transcripts,
        )
        return _run_coroutine(coroutine)

    def close(self) -> None:
        self._stack.close()

    def write_report(self) -> dict[str, Any] | None:
        from conformance.report.json_report import build_report, write_json

        if self._result is None:
            return None
        report = build_report(self._result)
        path = self.config.getoption("conformance_report_json")
        if path:
            write_json(report, Path(path))
        return report


def _configure_snapshots(config: pytest.Config) -> None:
    why = f"snapshots in {_snapshot_dir(config)} are compared on every run, and"
    try:
        from conformance.report.snapshot import TranscriptSnapshotExtension
    except ImportError as error:
        raise pytest.UsageError(
            f"conformance: {why} that needs syrupy (pip install syrupy): {error}"
        ) from error
    if not hasattr(config, "_syrupy") and not config.pluginmanager.hasplugin("syrupy"):
        raise pytest.UsageError(f"conformance: {why} that needs the syrupy plugin enabled")
    TranscriptSnapshotExtension.directory = _snapshot_dir(config)


def _run_coroutine(coroutine: Any) -> Any:
    """``asyncio.run``, in a thread of its own when this thread already runs a loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    outcome: dict[str, Any] = {}

    def work() -> None:
        try:
            outcome["value"] = asyncio.run(coroutine)
        except BaseException as error:
            outcome["error"] = error

    thread = threading.Thread(target=work, name="conformance-check")
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


_SESSION_KEY = pytest.StashKey[_ConformanceSession]()


def _session(config: pytest.Config) -> _ConformanceSession:
    return config.stash[_SESSION_KEY]


# --- collection --------------------------------------------------------------------------------


def _catalogue_rule_ids() -> list[str]:
    from conformance.rules.catalog import RULES  # type: ignore[import-not-found]

    rules = RULES.values() if isinstance(RULES, dict) else RULES
    return [rule.id for rule in rules]


class ConformanceRoot(pytest.Collector):
    """``conformance``: the scenario collectors and the capabilities collector."""

    def collect(self) -> list[pytest.Item | pytest.Collector]:
        session = _session(self.config)
        children: list[pytest.Item | pytest.Collector] = [
            ScenarioCollector.from_parent(self, name=name) for name in session.catalogue_names
        ]
        children.append(CapabilitiesCollector.from_parent(self, name=CAPABILITIES_NAME))
        return children


class ScenarioCollector(pytest.Collector):
    """``conformance::<scenario>``: replay, one item per rule, and the snapshot."""

    def collect(self) -> list[pytest.Item | pytest.Collector]:
        items: list[pytest.Item | pytest.Collector] = [
            ReplayItem.from_parent(self, name=REPLAY_ITEM)
        ]
        items += [RuleItem.from_parent(self, name=rule) for rule in _catalogue_rule_ids()]
        if _wants_snapshots(self.config):
            items.append(
                pytest.Function.from_parent(self, name=SNAPSHOT_ITEM, callobj=conformance_snapshot)
            )
        return items


class CapabilitiesCollector(pytest.Collector):
    def collect(self) -> list[pytest.Item | pytest.Collector]:
        from conformance.capabilities import CAPABILITIES

        return [CapabilityItem.from_parent(self, name=name) for name in CAPABILITIES]


def _expand(collector: pytest.Collector) -> Iterator[pytest.Item]:
    for child in collector.collect():
        if isinstance(child, pytest.Item):
            child.add_marker("conformance")
            yield child
        else:
            yield from _expand(child)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    # tryfirst: the items must exist before -k, -m, --deselect and syrupy look at the list.
    # Every scenario of the catalogue is collected, so that syrupy knows a run is partial
    # (and does not call the other scenarios' snapshots unused); the scenarios not selected
    # are deselected last, by _Deselection.
    if not _active(config):
        return
    # An explicit node id: the session's is empty, and ids must read conformance::...
    root = ConformanceRoot.from_parent(session, name=ROOT_NAME, nodeid=ROOT_NAME)
    items.extend(_expand(root))


class _Deselection:
    """A second hook implementation, ordered last (a module holds one of each name)."""

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(
        self, session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
    ) -> None:
        selected = {scenario.name for scenario in _session(config).scenarios}
        keep: list[pytest.Item] = []
        drop: list[pytest.Item] = []
        for item in items:
            other = isinstance(item.parent, ScenarioCollector) and item.parent.name not in selected
            (drop if other else keep).append(item)
        if drop:
            config.hook.pytest_deselected(items=drop)
            items[:] = keep


# --- items -------------------------------------------------------------------------------------


def _could_not_run(error: CouldNotRun) -> NoReturn:
    # The message says it all; a traceback through the plugin would only hide it (and
    # formatting one per item is slow when an unreachable target errors them all).
    pytest.fail(f"could not run: {error}", pytrace=False)


class ConformanceFailure(AssertionError):
    """A failing conformance item; its text is the whole explanation."""


def _describe(findings: list[Any]) -> str:
    lines = []
    for finding in findings:
        lines.append(f"[{finding.severity.value}] {finding.rule} at {finding.location()}")
        lines.append(f"    {finding.message}")
        if finding.expected is not None or finding.actual is not None:
            lines.append(f"    expected: {finding.expected!r}")
            lines.append(f"    actual:   {finding.actual!r}")
    return "\n".join(lines)


class _ConformanceItem(pytest.Item):
    """An item of the suite: a failure is reported by its message alone."""

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        if isinstance(excinfo.value, ConformanceFailure | CouldNotRun):
            return str(excinfo.value)
        return super().repr_failure(excinfo)

    def reportinfo(self) -> tuple[Path, int | None, str]:
        # No domain: pytest would print a rule id's dots as "::".
        return self.path, None, ""


class _ScenarioItem(_ConformanceItem):
    """Judges the findings of its scenario that belong to it."""

    @property
    def scenario_name(self) -> str:
        assert self.parent is not None
        return self.parent.name

    def setup(self) -> None:
        # Failed in setup so pytest reports an error, not a failure and never a pass.
        try:
            self.scenario_result = _session(self.config).scenario(self.scenario_name)
        except CouldNotRun as error:
            _could_not_run(error)

    def _mine(self, finding: Any) -> bool:
        raise NotImplementedError

    def _stale_rules(self) -> list[str]:
        return []

    def runtest(self) -> None:
        result = self.scenario_result
        mine = [f for f in result.findings if self._mine(f)]
        for finding in mine:
            if not finding.is_failure:
                warnings.warn(ConformanceWarning(_describe([finding])), stacklevel=1)
        failures = [f for f in mine if f.is_failure]
        new = [f for f in failures if not result.is_expected(f)]
        stale = self._stale_rules()
        if new:
            raise ConformanceFailure(_describe(new))
        if stale:
            raise ConformanceFailure(
                "stale baseline entry: "
                + ", ".join(f"{self.scenario_name}::{rule}" for rule in stale)
                + " no longer fails; remove it from the baseline"
            )
        if failures:
            pytest.xfail("baselined: " + _describe(failures))


class ReplayItem(_ScenarioItem):
    def _mine(self, finding: Any) -> bool:
        return finding.rule.startswith(_REPLAY_PREFIXES) or finding.rule not in set(
            _catalogue_rule_ids()
        )

    def _stale_rules(self) -> list[str]:
        known = set(_catalogue_rule_ids())
        return _stale_for(self, lambda rule: rule.startswith(_REPLAY_PREFIXES) or rule not in known)


class RuleItem(_ScenarioItem):
    def _mine(self, finding: Any) -> bool:
        return bool(finding.rule == self.name)

    def _stale_rules(self) -> list[str]:
        return _stale_for(self, lambda rule: rule == self.name)


def _stale_for(item: _ScenarioItem, belongs: Any) -> list[str]:
    result = _session(item.config).result()
    return [
        entry.rule
        for entry in result.stale
        if entry.scenario == item.scenario_name and belongs(entry.rule)
    ]


def conformance_snapshot(request: pytest.FixtureRequest, snapshot: Any) -> None:
    """The target's own normalised transcript of this scenario against its syrupy snapshot.

    A real test function (syrupy tracks only those, for its unused-snapshot report), called
    by the ``conformance::<scenario>::snapshot`` items with syrupy's ``snapshot`` fixture.
    """
    from conformance.report.snapshot import TranscriptSnapshotExtension, snapshot_text

    item = request.node
    assert item.parent is not None
    scenario = item.parent.name
    session = _session(item.config)
    try:
        session.scenario(scenario)
    except CouldNotRun as error:
        _could_not_run(error)
    transcript = session.transcripts.get(scenario)
    if transcript is None:
        _could_not_run(CouldNotRun(f"no transcript of {scenario} to snapshot"))
    with warnings.catch_warnings():
        # syrupy expects a snapshot named after the test function; ours are named after the
        # scenario, on purpose (one readable file per scenario).
        warnings.filterwarnings(
            "ignore", message=r"\s*Can not relate snapshot name", category=UserWarning
        )
        assertion = snapshot.use_extension(TranscriptSnapshotExtension)
        if assertion != snapshot_text(transcript):
            # Explicit, not a bare assert: an installed plugin's asserts are rewritten only
            # when the installer lists its modules, so syrupy's diff would otherwise be lost.
            # Plain text: the diff also lands in JUnit reports and CI logs.
            diff = "\n".join(_ANSI_ESCAPE.sub("", line) for line in assertion.get_assert_diff())
            pytest.fail(
                f"{scenario}: the transcript differs from its snapshot\n{diff}", pytrace=False
            )


class CapabilityItem(_ConformanceItem):
    def setup(self) -> None:
        result = _session(self.config).result()
        if result.fatal_error:
            _could_not_run(CouldNotRun(result.fatal_error))

    def runtest(self) -> None:
        from conformance.report.results import CapabilityStatus

        result = _session(self.config).result()
        capability = next(c for c in result.capabilities if c.name == self.name)
        if capability.status is CapabilityStatus.FAIL:
            raise ConformanceFailure("failed by " + ", ".join(capability.failed_by))
        if capability.status is CapabilityStatus.NOT_TESTED:
            pytest.skip(f"NOT TESTED: {capability.reason}")


# --- the end ------------------------------------------------------------------------------------


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    if not _active(config) or _SESSION_KEY not in config.stash:
        return
    report = _session(config).write_report()
    if report is None:
        return
    from conformance.report.terminal import summary

    terminalreporter.write_sep("=", "LangGraph streaming conformance")
    terminalreporter.write(summary(report))
    for name in _unused_snapshots(config):
        terminalreporter.write_line(
            f"unused snapshot {name}: no scenario of the catalogue produces it "
            "(--snapshot-update deletes it)"
        )


def _unused_snapshots(config: pytest.Config) -> list[str]:
    """Snapshot files of scenarios the catalogue no longer has (syrupy counts them too)."""
    if not _wants_snapshots(config):
        return []
    known = set(_session(config).catalogue_names)
    suffix = f".{SNAPSHOT_SUFFIX}"
    return sorted(
        path.name
        for path in _snapshot_dir(config).glob(f"*{suffix}")
        if path.name.removesuffix(suffix) not in known
    )


def pytest_unconfigure(config: pytest.Config) -> None:
    if _SESSION_KEY in config.stash:
        _session(config).close()
