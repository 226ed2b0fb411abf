"""Group a `conformance check` JSON report into distinct findings and apply the triage verdicts.

Kept out of the package on purpose: a tool for re-running the third-party triage
(docs/reports/README.md), not part of the suite.

    python3 docs/reports/triage.py REPORT.json --target aegra [--verdicts docs/reports/verdicts.json]
        [--previous OLDER.json]   # also list the true MUST findings OLDER.json had and this lost

A distinct finding is one (severity, rule, JSON pointer with array indexes folded, message with
ids and durations folded). Each is matched against the verdicts file, a JSON list of entries:

    {"id": "...", "targets": ["aegra"], "rule": "replay.header", "message": "regex",
     "pointer": "regex", "verdict": "true" | "false", "langgraph_dev": "...", "evidence": "..."}

`severity`, `rule`, `message` and `pointer` are regular expressions matched with re.search
(severity, rule and pointer anchored); `targets` is optional (all targets when absent). The first entry that matches
wins. A distinct finding no entry matches is "untriaged": the script exits 1 while any remain, so
a re-run against a newer suite cannot silently skip a new finding.

Output: a Markdown table (one row per distinct finding) and the summary line

    TRIAGE: N distinct findings (M occurrences; ...): T true, F false, O follow-on, U untriaged

Verdicts: "true" (a real difference from langgraph dev that a client sees, at the right
severity), "false" (the suite is wrong: a legal variation, a server-chosen value, or a MUST for
something no SDK reads), "follow-on" (a consequence of another finding of the same run, e.g. the
steps a scenario never sent after it could not go on).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_UUID = re.compile(
    r"[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}"
)
_SECONDS = re.compile(r"\b\d+(?:\.\d+)? ?s\b")
_ARRAY_INDEX = re.compile(r"/\d+(?=/|$)")
_LOOPBACK_PORT = re.compile(r"127\.0\.0\.1:\d+")
_SCENARIO_STEP = re.compile(r"scenario '[^']+', step '[^']+': ")
_TARGET_BODY = re.compile(r"; the target(?:'s body: .*| sent no body)$", re.DOTALL)


@dataclass
class Distinct:
    severity: str
    rule: str
    pointer: str
    message: str
    occurrences: int = 0
    scenarios: set[str] = field(default_factory=set)
    example: dict[str, Any] = field(default_factory=dict)
    # every occurrence is one the control run (langgraph dev mapped the same way) shares
    controlled: bool = False


def _fold_message(message: str) -> str:
    message = _SCENARIO_STEP.sub("", message)
    message = _TARGET_BODY.sub("", message)
    message = _UUID.sub("<id>", message)
    message = _LOOPBACK_PORT.sub("127.0.0.1:<port>", message)
    return _SECONDS.sub("N s", message)


def group(
    report: dict[str, Any], control: set[tuple[str, str, str, str, str]] | None = None
) -> list[Distinct]:
    """One entry per distinct finding, in order of first appearance.

    With a control, the occurrences the control shares (same scenario and step) are a distinct finding
    of their own: one scenario's mapping artefact must not clear the same finding in the
    scenarios where the target alone gets it."""
    grouped: dict[tuple[str, str, str, str, bool], Distinct] = {}
    for scenario in report["scenarios"]:
        findings = list(scenario.get("findings", []))
        if scenario.get("error") and not findings:
            findings.append(
                {
                    "severity": "ERROR",
                    "rule": "scenario.error",
                    "pointer": "",
                    "message": scenario["error"],
                }
            )
        for finding in findings:
            pointer = _ARRAY_INDEX.sub("/N", finding.get("pointer") or "")
            message = _fold_message(finding["message"])
            controlled = bool(
                control
                and finding["severity"] == "MUST"
                and _control_key(scenario["name"], finding) in control
            )
            key = (finding["severity"], finding["rule"], pointer, message, controlled)
            entry = grouped.get(key)
            if entry is None:
                entry = grouped[key] = Distinct(
                    finding["severity"], finding["rule"], pointer, message, controlled=controlled
                )
                entry.example = finding
            entry.occurrences += 1
            entry.scenarios.add(scenario["name"])
    return list(grouped.values())


CONTROL_VERDICT = {
    "id": "control",
    "verdict": "false",
    "langgraph_dev": "gets the same finding itself, under the same --graph mapping",
    "evidence": "the control run (run.sh oracle-mapped: langgraph dev mapped as the target is) "
    "reports it in the same scenario and step: it comes from the mapping, not from the target",
}


def control_keys(report: dict[str, Any]) -> set[tuple[str, str, str, str, str]]:
    """(scenario, step, rule, pointer, message) of every MUST finding of the control run."""
    return {
        _control_key(scenario["name"], finding)
        for scenario in report["scenarios"]
        for finding in scenario.get("findings", [])
        if finding["severity"] == "MUST"
    }


def _control_key(scenario: str, finding: dict[str, Any]) -> tuple[str, str, str, str, str]:
    pointer = _ARRAY_INDEX.sub("/N", finding.get("pointer") or "")
    message = _fold_message(finding["message"])
    return (scenario, finding.get("step") or "", finding["rule"], pointer, message)


def in_control(distinct: Distinct, control: set[tuple[str, str, str, str, str]]) -> bool:
    return distinct.controlled


def match(distinct: Distinct, verdicts: list[dict[str, Any]], target: str) -> dict[str, Any] | None:
    for verdict in verdicts:
        if "targets" in verdict and target not in verdict["targets"]:
            continue
        if not re.fullmatch(verdict.get("severity", ".*"), distinct.severity):
            continue
        if not re.fullmatch(verdict["rule"], distinct.rule):
            continue
        if not re.search(verdict.get("message", ""), distinct.message):
            continue
        if "pointer" in verdict and not re.fullmatch(verdict["pointer"], distinct.pointer):
            continue
        return verdict
    return None


def _cell(text: str, limit: int = 220) -> str:
    text = " ".join(str(text).split()).replace("|", "\\|")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def render(
    distincts: list[Distinct],
    verdicts: list[dict[str, Any]],
    target: str,
    control: set[tuple[str, str, str, str, str]] | None = None,
) -> tuple[str, dict[str, int]]:
    counts: dict[str, int] = defaultdict(int)
    rows = [
        "| # | severity | rule | pointer | finding (example) | n | scenarios | verdict | what langgraph dev does | evidence |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for number, distinct in enumerate(distincts, 1):
        verdict = (
            CONTROL_VERDICT
            if control and in_control(distinct, control)
            else match(distinct, verdicts, target)
        )
        kind = verdict["verdict"] if verdict else "untriaged"
        counts[kind] += 1
        counts[f"{kind} occurrences"] += distinct.occurrences
        scenarios = sorted(distinct.scenarios)
        shown = ", ".join(scenarios[:3]) + (f" +{len(scenarios) - 3}" if len(scenarios) > 3 else "")
        example = distinct.example
        where = f"{example.get('scenario', '')} / {example.get('step', '')}"
        rows.append(
            "| "
            + " | ".join(
                [
                    str(number),
                    distinct.severity,
                    f"`{distinct.rule}`",
                    f"`{distinct.pointer}`" if distinct.pointer else "",
                    _cell(f"{distinct.message} ({where})"),
                    str(distinct.occurrences),
                    _cell(shown),
                    f"**{kind}**" + (f" ({verdict['id']})" if verdict else ""),
                    _cell(verdict.get("langgraph_dev", "") if verdict else "", 400),
                    _cell(verdict.get("evidence", "") if verdict else "", 400),
                ]
            )
            + " |"
        )
    return "\n".join(rows), counts


def _true_musts(
    report: dict[str, Any],
    verdicts: list[dict[str, Any]],
    target: str,
    control: set[tuple[str, str, str, str, str]] | None,
) -> set[tuple[str, str, str]]:
    """(rule, pointer, message) of every distinct MUST finding whose verdict is true."""
    found = set()
    for distinct in group(report, control):
        if distinct.severity != "MUST" or distinct.controlled:
            continue
        verdict = match(distinct, verdicts, target)
        if verdict and verdict["verdict"] == "true":
            found.add((distinct.rule, distinct.pointer, distinct.message))
    return found


def lost_true_musts(
    previous: dict[str, Any],
    report: dict[str, Any],
    verdicts: list[dict[str, Any]],
    target: str,
    previous_control: set[tuple[str, str, str, str, str]] | None = None,
    control: set[tuple[str, str, str, str, str]] | None = None,
) -> list[tuple[str, str, str]]:
    """The true MUST findings of ``previous`` that ``report`` no longer has as true MUSTs: what
    a newer suite would have turned into a pass or a warning."""
    now = _true_musts(report, verdicts, target, control)
    return sorted(_true_musts(previous, verdicts, target, previous_control) - now)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("report", type=Path)
    parser.add_argument("--target", required=True, help="the target's name in the verdicts file")
    parser.add_argument("--verdicts", type=Path, default=Path(__file__).with_name("verdicts.json"))
    parser.add_argument(
        "--control",
        type=Path,
        help="the JSON report of langgraph dev mapped as the target was: a MUST finding it "
        "shares (same scenario, step, rule, pointer, message) is false",
    )
    parser.add_argument(
        "--previous",
        type=Path,
        help="an older report of the same target: list its true MUST findings this one lost",
    )
    parser.add_argument(
        "--previous-control", type=Path, help="the control run of the --previous report"
    )
    arguments = parser.parse_args(argv)
    report = json.loads(arguments.report.read_text())
    verdicts = json.loads(arguments.verdicts.read_text())
    control = control_keys(json.loads(arguments.control.read_text())) if arguments.control else None
    distincts = group(report, control)
    table, counts = render(distincts, verdicts, arguments.target, control)
    print(table)
    print()
    occurrences = sum(distinct.occurrences for distinct in distincts)
    summary = report.get("summary", {})
    print(
        f"TRIAGE: {len(distincts)} distinct findings ({occurrences} occurrences; "
        f"{summary.get('must', '?')} MUST, {summary.get('should', '?')} SHOULD): "
        f"{counts['true']} true, {counts['false']} false ({counts['false occurrences']} occurrences), "
        f"{counts['follow-on']} follow-on, {counts['untriaged']} untriaged"
    )
    lost: list[tuple[str, str, str]] = []
    if arguments.previous:
        previous_control = (
            control_keys(json.loads(arguments.previous_control.read_text()))
            if arguments.previous_control
            else None
        )
        lost = lost_true_musts(
            json.loads(arguments.previous.read_text()),
            report,
            verdicts,
            arguments.target,
            previous_control,
            control,
        )
        for rule, pointer, message in lost:
            print(f"LOST: {rule} {pointer} {message}")
        print(f"LOST: {len(lost)} true MUST finding(s) of {arguments.previous} not true MUST here")
    return 1 if counts["untriaged"] or lost else 0


if __name__ == "__main__":
    sys.exit(main())
