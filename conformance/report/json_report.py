"""The JSON report: the source of truth. Written first; every other format reads it.

Its shape (``format`` 1)::

    {"format": 1, "tool": ..., "target": ..., "target_kind": ..., "llm": {"mode", "url"},
     "graph_map": {...}, "started_at": ..., "duration_s": ..., "outcome": ..., "exit_code": ...,
     "level": "extended" | "core" | "none", "fatal_error": ..., "notes": [...],
     "relaxed": [{"scenario", "reason"}],
     "summary": {"scenarios", "passed", "failed", "errors", "must", "should", "may",
                 "expected_failures", "stale_baseline"},
     "scenarios": [{"name", "capability", "level", "description", "status", "duration_s",
                    "relaxed", "error", "findings": [{"rule", "severity", "message", "scenario",
                    "step", "event_index", "pointer", "expected", "actual", "location",
                    "baselined"}]}],
     "capabilities": [{"name", "level", "description", "status", "scenarios", "failed_by",
                       "reason"}],
     "excluded": {"scenarios": [{"name", "reason"}], "capabilities": [{"name", "reason"}]},
     "ignored": [{"pattern", "reason", "findings"}],  (per scenario: "ignored": [finding +
                                                        "ignored_by"], never counted)
     "baseline": {"path", "expected", "stale"}}
"""

from __future__ import annotations

import dataclasses
import json
from importlib import metadata
from pathlib import Path
from typing import Any

from conformance.capabilities import level_of
from conformance.findings import Finding, Severity
from conformance.report.results import CheckResult, ExitCode, ScenarioResult

FORMAT_VERSION = 1
_DISTRIBUTION = "langgraph-stream-conformance"

_OUTCOMES = {
    ExitCode.CONFORMANT: "conformant",
    ExitCode.FINDINGS: "findings",
    ExitCode.COULD_NOT_RUN: "could not run",
}


def _tool_version() -> str:
    try:
        return metadata.version(_DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return "unknown"


def _jsonable(value: Any) -> Any:
    """Expected/actual values come from payloads and may hold bytes or tuples: make them JSON
    without losing what they said."""
    return json.loads(json.dumps(value, default=repr, ensure_ascii=False))


def _finding(finding: Finding, scenario: ScenarioResult) -> dict[str, Any]:
    if not finding.scenario:
        finding = dataclasses.replace(finding, scenario=scenario.name)
    return {
        "rule": finding.rule,
        "severity": finding.severity.value,
        "message": finding.message,
        "scenario": finding.scenario,
        "step": finding.step,
        "event_index": finding.event_index,
        "pointer": finding.pointer,
        "expected": _jsonable(finding.expected),
        "actual": _jsonable(finding.actual),
        "location": finding.location(),
        "baselined": finding.is_failure and scenario.is_expected(finding),
    }


def _scenario(scenario: ScenarioResult) -> dict[str, Any]:
    try:
        level = level_of(scenario.capability).value
    except KeyError:
        level = ""
    return {
        "name": scenario.name,
        "capability": scenario.capability,
        "level": level,
        "description": scenario.description,
        "status": scenario.status.value,
        "duration_s": round(scenario.duration_s, 3),
        "relaxed": scenario.relaxed,
        "error": scenario.error,
        "not_tested": scenario.not_tested,
        "findings": [_finding(finding, scenario) for finding in scenario.findings],
        "ignored": [
            {**_finding(finding, scenario), "baselined": False, "ignored_by": pattern}
            for pattern, finding in scenario.ignored
        ],
    }


def build_report(result: CheckResult) -> dict[str, Any]:
    scenarios = [_scenario(scenario) for scenario in result.scenarios]
    all_findings = [f for s in result.scenarios for f in s.findings]
    expected = sorted(
        {
            f"{s.name}::{f.rule}"
            for s in result.scenarios
            for f in s.findings
            if f.is_failure and s.is_expected(f)
        }
    )
    exit_code = result.exit_code
    return {
        "format": FORMAT_VERSION,
        "tool": {"name": _DISTRIBUTION, "version": _tool_version()},
        "target": result.run.target,
        "target_kind": result.run.target_kind,
        "llm": {"mode": result.run.llm_mode, "url": result.run.llm_url},
        "graph_map": dict(result.run.graph_map),
        "started_at": result.run.started_at,
        "duration_s": round(result.run.duration_s, 3),
        "outcome": _OUTCOMES[exit_code],
        "exit_code": int(exit_code),
        "level": result.level,
        "fatal_error": result.fatal_error,
        "notes": list(result.run.notes),
        "relaxed": [
            {"scenario": s.name, "reason": s.relaxed} for s in result.scenarios if s.relaxed
        ],
        "summary": {
            "scenarios": len(scenarios),
            "passed": sum(s["status"] == "pass" for s in scenarios),
            "failed": sum(s["status"] == "fail" for s in scenarios),
            "errors": sum(s["status"] == "error" for s in scenarios),
            "not_tested": sum(s["status"] == "not tested" for s in scenarios),
            "must": sum(f.severity is Severity.MUST for f in all_findings),
            "should": sum(f.severity is Severity.SHOULD for f in all_findings),
            "may": sum(f.severity is Severity.MAY for f in all_findings),
            "expected_failures": len(expected),
            "stale_baseline": len(result.stale),
        },
        "scenarios": scenarios,
        "capabilities": [
            {
                "name": c.name,
                "level": c.level.value,
                "description": c.description,
                "status": c.status.value,
                "scenarios": list(c.scenarios),
                "failed_by": list(c.failed_by),
                "reason": c.reason,
            }
            for c in result.capabilities
        ],
        "ignored": [
            {
                **entry,
                "findings": sum(
                    pattern == entry["pattern"]
                    for s in result.scenarios
                    for pattern, _ in s.ignored
                ),
            }
            for entry in result.run.ignored
        ],
        "excluded": {
            "scenarios": [
                {"name": name, "reason": reason}
                for name, reason in result.run.excluded_scenarios.items()
            ],
            "capabilities": [
                {"name": name, "reason": reason}
                for name, reason in result.run.excluded_capabilities.items()
            ],
        },
        "baseline": {
            "path": result.run.baseline_path,
            "expected": expected,
            "stale": [entry.id for entry in result.stale],
        },
    }


def write_json(report: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def read_json(path: Path) -> dict[str, Any]:
    """A report written by ``write_json``; refuses anything else with a message saying why."""
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ValueError(f"{path}: cannot read a conformance report: {error}") from error
    if not isinstance(report, dict) or report.get("format") != FORMAT_VERSION:
        raise ValueError(f"{path}: not a conformance report of format {FORMAT_VERSION}")
    return report
