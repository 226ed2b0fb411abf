"""The outcome of one ``conformance check``: per scenario, per capability, and overall.

Plain data built by ``conformance.check``; the JSON report is made from it and every other
report format is made from the JSON. The verdicts (capability status, level, exit code) are
decided here, in one place, so the terminal, the JUnit file and the pytest plugin can never
disagree about them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import IntEnum, StrEnum

from conformance.baseline import selects
from conformance.capabilities import CAPABILITIES, Level
from conformance.findings import Finding
from conformance.rules.catalog import RULES


class ScenarioStatus(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    ERROR = "error"
    """The suite could not judge the scenario (e.g. its fixture is missing)."""
    NOT_TESTED = "not tested"
    """The scenario needs what the target does not offer (a graph it does not serve, a
    capability the user declared absent): neither a pass nor a protocol failure."""


class CapabilityStatus(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    NOT_TESTED = "not tested"


class ExitCode(IntEnum):
    CONFORMANT = 0
    FINDINGS = 1
    COULD_NOT_RUN = 2


@dataclass(frozen=True, slots=True)
class ScenarioResult:
    name: str
    capability: str
    description: str
    duration_s: float
    findings: tuple[Finding, ...] = ()
    baselined_rules: frozenset[str] = frozenset()
    """Rules whose failing findings the baseline expects: they do not fail the scenario."""
    relaxed: str = ""
    """Why values were not compared (live LLM, mapped graphs); empty when they were."""
    error: str = ""
    """Why the suite could not judge this scenario; set only for ``ScenarioStatus.ERROR``."""
    ignored: tuple[tuple[str, Finding], ...] = ()
    """Findings an ignore pattern covered, with the pattern: listed, never counted."""
    not_tested: str = ""
    """Why the scenario was not run, or could not be judged (a mapped graph that lacks the
    recorded behaviour); NOT TESTED unless what could be judged failed."""
    also_exercised: frozenset[str] = frozenset()
    """Capabilities the rules exercised besides the scenario's own (``sse_framing`` whenever
    the scenario read a stream)."""

    def is_expected(self, finding: Finding) -> bool:
        return any(selects(selector, finding) for selector in self.baselined_rules)

    @property
    def failures(self) -> tuple[Finding, ...]:
        """MUST findings the baseline does not expect."""
        return tuple(f for f in self.findings if f.is_failure and not self.is_expected(f))

    @property
    def status(self) -> ScenarioStatus:
        if self.error:
            return ScenarioStatus.ERROR
        if self.failures:
            # a scenario NOT TESTED for part of what it exercises (a mapped graph without the
            # recorded behaviour) still fails on what could be judged
            return ScenarioStatus.FAIL
        return ScenarioStatus.NOT_TESTED if self.not_tested else ScenarioStatus.PASS


@dataclass(frozen=True, slots=True)
class StaleEntry:
    """A baseline entry for a scenario that ran and no longer fails that rule."""

    scenario: str
    rule: str

    @property
    def id(self) -> str:
        return f"{self.scenario}::{self.rule}"


@dataclass(frozen=True, slots=True)
class CapabilityResult:
    name: str
    level: Level
    description: str
    status: CapabilityStatus
    scenarios: tuple[str, ...]
    """Scenarios of this capability that ran."""
    failed_by: tuple[str, ...] = ()
    """``scenario::rule`` ids whose failures fail this capability."""
    reason: str = ""
    """Why it is NOT TESTED (declared out of scope, or nothing selected exercised it)."""


@dataclass(slots=True)
class CheckRun:
    """What was checked and how: the context a reader of a report needs."""

    target: str
    target_kind: str
    """``bundled reference server`` when the suite started it, else ``external``."""
    llm_mode: str
    llm_url: str
    graph_map: dict[str, str] = field(default_factory=dict)
    baseline_path: str = ""
    started_at: str = ""
    duration_s: float = 0.0
    notes: list[str] = field(default_factory=list)
    """Statements the report must carry, e.g. that mapped graphs are judged by shapes only."""
    excluded_scenarios: dict[str, str] = field(default_factory=dict)
    """Scenarios declared out of scope (not run) -> why."""
    excluded_capabilities: dict[str, str] = field(default_factory=dict)
    """Capabilities declared out of scope, or left without a scenario by exclusions -> why."""
    ignored: list[dict[str, str]] = field(default_factory=list)
    """Ignore patterns in force: ``{"pattern", "reason"}`` each."""


@dataclass(slots=True)
class CheckResult:
    run: CheckRun
    scenarios: list[ScenarioResult]
    stale: list[StaleEntry] = field(default_factory=list)
    fatal_error: str = ""
    """Set when the suite as a whole could not run (unreachable target, nothing selected)."""

    @property
    def capabilities(self) -> list[CapabilityResult]:
        return judge_capabilities(self.scenarios, self.stale, self.run.excluded_capabilities)

    @property
    def level(self) -> str:
        return level_reached(self.capabilities)

    @property
    def exit_code(self) -> ExitCode:
        if self.fatal_error or not self.scenarios:
            return ExitCode.COULD_NOT_RUN
        if any(s.status is ScenarioStatus.ERROR for s in self.scenarios):
            return ExitCode.COULD_NOT_RUN
        if self.stale or any(s.status is ScenarioStatus.FAIL for s in self.scenarios):
            return ExitCode.FINDINGS
        return ExitCode.CONFORMANT


def _rule_capability(rule: str) -> str | None:
    """The capability a catalogue rule belongs to; None for replay and suite findings."""
    entry = RULES.get(rule)
    return entry.capability if entry is not None else None


NOT_EXERCISED = "no selected scenario exercised it"


def judge_capabilities(
    scenarios: Sequence[ScenarioResult],
    stale: Iterable[StaleEntry] = (),
    excluded: Mapping[str, str] | None = None,
) -> list[CapabilityResult]:
    """Every capability of the catalogue, in catalogue order, none dropped.

    A capability is exercised by the scenarios that name it, and by those whose streams its
    rules checked (``also_exercised``). It fails when one of those
    fails, when a rule of that capability fails anywhere (a framing fault found while running
    a threads scenario still fails ``sse_framing``), or when a stale baseline entry names one
    of its scenarios. A capability that nothing exercised and nothing failed is NOT TESTED,
    with the reason: ``excluded`` (declared out of scope), that one of its scenarios was NOT
    TESTED (the capability was not shown whole: a graph the target does not serve), or that
    nothing exercised it. A failure is never hidden by an exclusion.
    """
    excluded = excluded or {}
    untested: dict[str, list[str]] = {name: [] for name in CAPABILITIES}
    ran: dict[str, list[str]] = {name: [] for name in CAPABILITIES}
    failed_by: dict[str, list[str]] = {name: [] for name in CAPABILITIES}
    capability_of_scenario = {s.name: s.capability for s in scenarios}
    for scenario in scenarios:
        if scenario.status is ScenarioStatus.NOT_TESTED:
            if scenario.capability in untested:
                untested[scenario.capability].append(scenario.name)
        elif scenario.status is not ScenarioStatus.ERROR:
            for capability in sorted({scenario.capability, *scenario.also_exercised}):
                if capability in ran:
                    ran[capability].append(scenario.name)
        for finding in scenario.failures:
            culprit = f"{scenario.name}::{finding.rule}"
            for failed in {scenario.capability, _rule_capability(finding.rule)}:
                if failed in failed_by and culprit not in failed_by[failed]:
                    failed_by[failed].append(culprit)
    for entry in stale:
        owner = capability_of_scenario.get(entry.scenario)
        if owner in failed_by:
            failed_by[owner].append(f"{entry.id} (stale baseline)")
    results = []
    for name, (level, description) in CAPABILITIES.items():
        reason = ""
        if failed_by[name]:
            status = CapabilityStatus.FAIL
        elif ran[name] and name not in excluded and not untested[name]:
            status = CapabilityStatus.PASS
        else:
            status = CapabilityStatus.NOT_TESTED
            reason = excluded.get(name, NOT_EXERCISED)
            if untested[name] and name not in excluded:
                reason = "scenario(s) NOT TESTED: " + ", ".join(untested[name])
        results.append(
            CapabilityResult(
                name=name,
                level=level,
                description=description,
                status=status,
                scenarios=tuple(ran[name]),
                failed_by=tuple(failed_by[name]),
                reason=reason,
            )
        )
    return results


def level_reached(capabilities: Sequence[CapabilityResult]) -> str:
    """``extended`` when every capability passed, ``core`` when every core one did, else
    ``none``. A NOT TESTED capability is not a pass: a partial run cannot claim a level."""

    def all_pass(level: Level | None) -> bool:
        return all(
            c.status is CapabilityStatus.PASS
            for c in capabilities
            if level is None or c.level is level
        )

    if capabilities and all_pass(None):
        return Level.EXTENDED.value
    if all_pass(Level.CORE):
        return Level.CORE.value
    return "none"
