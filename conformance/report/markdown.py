"""Markdown for a pull request comment, made from the JSON report."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

_STATUS = {"pass": "PASS", "fail": "FAIL", "error": "ERROR", "not tested": "NOT TESTED"}
_MAX_VALUE = 300
"""Characters of an expected/actual value shown before eliding: a PR comment stays readable."""


def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _value(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= _MAX_VALUE else text[:_MAX_VALUE] + " …"


def _capability_counts(report: dict[str, Any]) -> str:
    statuses = [c["status"] for c in report["capabilities"]]
    return (
        f"capabilities: {statuses.count('pass')} of {len(statuses)} passed, "
        f"{statuses.count('fail')} failed, {statuses.count('not tested')} NOT TESTED"
    )


def _headline(report: dict[str, Any]) -> list[str]:
    summary = report["summary"]
    lines = [
        f"## LangGraph streaming conformance: {report['outcome'].upper()}",
        "",
        f"- Target: `{report['target']}` ({report['target_kind']})",
        f"- LLM: {report['llm']['mode']} (`{report['llm']['url']}`)",
        f"- Level reached: **{report['level']}** ({_capability_counts(report)})",
        f"- Scenarios: {summary['scenarios']} run, {summary['passed']} passed, "
        f"{summary['failed']} failed, {summary['errors']} could not run "
        f"({report['duration_s']:.1f} s)",
        f"- Findings: {summary['must']} MUST, {summary['should']} SHOULD, {summary['may']} MAY; "
        f"{summary['expected_failures']} baselined, {summary['stale_baseline']} stale",
    ]
    if report["fatal_error"]:
        lines += ["", f"**The suite could not run:** {report['fatal_error']}"]
    lines += [f"- {note}" for note in report["notes"]]
    return lines


def _capability_table(report: dict[str, Any]) -> list[str]:
    lines = ["", "### Capabilities", "", "| capability | level | result |", "|---|---|---|"]
    for capability in report["capabilities"]:
        lines.append(
            f"| {capability['name']} | {capability['level']} | {_STATUS[capability['status']]} |"
        )
    return lines


def _scenario_table(report: dict[str, Any]) -> list[str]:
    lines = [
        "",
        "### Scenarios",
        "",
        "| scenario | capability | result | findings | time |",
        "|---|---|---|---|---|",
    ]
    for scenario in report["scenarios"]:
        rules = sorted({f["rule"] for f in scenario["findings"]})
        lines.append(
            f"| {scenario['name']} | {scenario['capability']} | {_STATUS[scenario['status']]} | "
            f"{_cell(', '.join(rules)) or '-'} | {scenario['duration_s']:.2f} s |"
        )
    return lines


def _details(report: dict[str, Any]) -> list[str]:
    lines: list[str] = []
    for scenario in report["scenarios"]:
        if scenario["status"] == "error":
            lines += ["", f"#### {scenario['name']}: could not run", "", scenario["error"]]
            continue
        shown = [f for f in scenario["findings"] if f["severity"] != "MAY"]
        if not shown:
            continue
        lines += ["", f"#### {scenario['name']}", ""]
        for finding in shown:
            tag = " (baselined)" if finding["baselined"] else ""
            lines.append(
                f"- **{finding['severity']}** `{finding['rule']}`{tag} at "
                f"{_cell(finding['location'])}: {_cell(finding['message'])}"
            )
            if finding["expected"] is not None or finding["actual"] is not None:
                lines.append(f"  - expected: `{_cell(_value(finding['expected']))}`")
                lines.append(f"  - actual: `{_cell(_value(finding['actual']))}`")
    for stale in report["baseline"]["stale"]:
        lines.append(f"- **stale baseline entry** `{stale}`: it passes now; remove it")
    return (["", "### Findings", *lines]) if lines else []


def _relaxed(report: dict[str, Any]) -> list[str]:
    if not report["relaxed"]:
        return []
    lines = ["", "### Relaxed comparisons", ""]
    lines += [f"- {entry['scenario']}: {entry['reason']}" for entry in report["relaxed"]]
    return lines


def markdown(report: dict[str, Any]) -> str:
    lines = [
        *_headline(report),
        *_capability_table(report),
        *_scenario_table(report),
        *_details(report),
        *_relaxed(report),
    ]
    return "\n".join(lines) + "\n"


def write_markdown(report: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(markdown(report), encoding="utf-8")
