"""Verdicts: scenario status, capability status (NOT TESTED kept), level reached, exit code."""

from __future__ import annotations

from conformance.capabilities import CAPABILITIES, Level
from conformance.findings import Finding, Severity
from conformance.report.results import (
    CapabilityStatus,
    CheckResult,
    CheckRun,
    ExitCode,
    ScenarioResult,
    ScenarioStatus,
    StaleEntry,
    judge_capabilities,
    level_reached,
)


def _finding(rule: str, severity: Severity = Severity.MUST) -> Finding:
    return Finding(rule=rule, severity=severity, message=f"{rule} broken")


def _scenario(name: str, capability: str, *findings: Finding, **extra: object) -> ScenarioResult:
    return ScenarioResult(
        name=name,
        capability=capability,
        description=name,
        duration_s=0.5,
        findings=findings,
        **extra,  # type: ignore[arg-type]
    )


def _every_capability_passing() -> list[ScenarioResult]:
    return [_scenario(f"s_{name}", name) for name in CAPABILITIES]


def _run() -> CheckRun:
    return CheckRun(target="http://t", target_kind="external", llm_mode="fake", llm_url="u")


def test_scenario_status_from_findings() -> None:
    assert _scenario("a", "runs").status is ScenarioStatus.PASS
    assert _scenario("a", "runs", _finding("r", Severity.SHOULD)).status is ScenarioStatus.PASS
    assert _scenario("a", "runs", _finding("r")).status is ScenarioStatus.FAIL
    baselined = _scenario("a", "runs", _finding("r"), baselined_rules=frozenset({"r"}))
    assert baselined.status is ScenarioStatus.PASS
    assert baselined.failures == ()
    assert _scenario("a", "runs", error="no fixture").status is ScenarioStatus.ERROR


def test_all_capabilities_passing_reach_extended() -> None:
    capabilities = judge_capabilities(_every_capability_passing())
    assert [c.name for c in capabilities] == list(CAPABILITIES)
    assert all(c.status is CapabilityStatus.PASS for c in capabilities)
    assert level_reached(capabilities) == "extended"


def test_unexercised_capability_is_not_tested_and_blocks_its_level() -> None:
    scenarios = [s for s in _every_capability_passing() if s.capability != "store"]
    capabilities = {c.name: c for c in judge_capabilities(scenarios)}
    assert capabilities["store"].status is CapabilityStatus.NOT_TESTED
    assert len(capabilities) == len(CAPABILITIES)
    assert level_reached(list(capabilities.values())) == "core"


def test_failing_core_capability_reaches_no_level() -> None:
    scenarios = _every_capability_passing()
    scenarios[0] = _scenario(scenarios[0].name, scenarios[0].capability, _finding("x"))
    assert CAPABILITIES[scenarios[0].capability][0] is Level.CORE
    capabilities = judge_capabilities(scenarios)
    failed = [c for c in capabilities if c.status is CapabilityStatus.FAIL]
    assert [c.name for c in failed] == [scenarios[0].capability]
    assert failed[0].failed_by == (f"{scenarios[0].name}::x",)
    assert level_reached(capabilities) == "none"


def test_error_scenario_does_not_count_as_exercised() -> None:
    capabilities = {
        c.name: c for c in judge_capabilities([_scenario("a", "store", error="no fixture")])
    }
    assert capabilities["store"].status is CapabilityStatus.NOT_TESTED


def test_stale_entry_fails_the_capability_of_its_scenario() -> None:
    capabilities = {
        c.name: c
        for c in judge_capabilities([_scenario("a", "join")], [StaleEntry("a", "rule.gone")])
    }
    assert capabilities["join"].status is CapabilityStatus.FAIL
    assert capabilities["join"].failed_by == ("a::rule.gone (stale baseline)",)


def test_exit_codes() -> None:
    passing = CheckResult(run=_run(), scenarios=[_scenario("a", "runs")])
    assert passing.exit_code is ExitCode.CONFORMANT
    failing = CheckResult(run=_run(), scenarios=[_scenario("a", "runs", _finding("r"))])
    assert failing.exit_code is ExitCode.FINDINGS
    stale = CheckResult(
        run=_run(), scenarios=[_scenario("a", "runs")], stale=[StaleEntry("a", "r")]
    )
    assert stale.exit_code is ExitCode.FINDINGS
    errored = CheckResult(
        run=_run(),
        scenarios=[_scenario("a", "runs", _finding("r")), _scenario("b", "runs", error="x")],
    )
    assert errored.exit_code is ExitCode.COULD_NOT_RUN
    assert CheckResult(run=_run(), scenarios=[]).exit_code is ExitCode.COULD_NOT_RUN
    unreachable = CheckResult(run=_run(), scenarios=[], fatal_error="unreachable")
    assert unreachable.exit_code is ExitCode.COULD_NOT_RUN
    assert unreachable.level == "none"


def test_not_tested_scenario_is_neither_pass_nor_fail_and_blocks_its_level() -> None:
    scenarios = _every_capability_passing()
    store = next(s for s in scenarios if s.capability == "store")
    assert CAPABILITIES["store"][0] is Level.EXTENDED
    scenarios.append(_scenario("store_two", "store", not_tested="graph x not served"))
    assert scenarios[-1].status is ScenarioStatus.NOT_TESTED
    capabilities = {c.name: c for c in judge_capabilities(scenarios)}
    # one scenario of the capability passed, another could not be run: not shown whole
    assert store.status is ScenarioStatus.PASS
    assert capabilities["store"].status is CapabilityStatus.NOT_TESTED
    assert level_reached(list(capabilities.values())) == "core"
    result = CheckResult(run=_run(), scenarios=scenarios)
    assert result.exit_code is ExitCode.CONFORMANT
    # a failure still wins over NOT TESTED
    scenarios.append(_scenario("store_three", "store", _finding("r")))
    capabilities = {c.name: c for c in judge_capabilities(scenarios)}
    assert capabilities["store"].status is CapabilityStatus.FAIL
