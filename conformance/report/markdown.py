"""Markdown for a pull-request comment, made from the JSON report.

Read top down, it answers in order: did it pass, at what level, what to fix first (one screen),
then every finding grouped by root cause (one group per rule and place, however many scenarios
show it), then the capability and scenario tables. What the run relaxed, ignored or excluded is
stated once. Each finding links to its rule's documentation.

It always fits a comment (``MAX_CHARACTERS``, GitHub's limit is 65,536): when the groups do not
all fit, the last ones are left out and the text says how many and that the JSON report has
them all.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conformance.rules.catalog import RULES

MAX_CHARACTERS = 60_000
"""Under GitHub's 65,536 for a comment, with room for a bot's own header."""
RULES_DOC = "docs/rules.md"
"""Where each rule id is documented (an anchor per id); ``--rules-doc`` may make it absolute."""
WORST_SHOWN = 5
"""Root causes in the one-screen summary."""

_STATUS = {"pass": "PASS", "fail": "FAIL", "error": "ERROR", "not tested": "NOT TESTED"}
_MAX_VALUE = 160
"""Characters of an expected/actual value shown before eliding."""
_SEVERITY_ORDER = {"MUST": 0, "SHOULD": 1, "MAY": 2}

_REPLAY_FIXES = {
    "replay.status": "answer this request with the status `langgraph dev` answers",
    "replay.header": "send this protocol header as `langgraph dev` does",
    "replay.event-order": "emit the same events, in the same order, as `langgraph dev`",
    "replay.shape": "give the payload the keys and types `langgraph dev` gives it",
    "replay.value": "return the value `langgraph dev` returns",
    "replay.missing-step": "let the scenario reach this step (an earlier step went wrong: "
    "see its findings)",
    "scenario.incomplete": "answer what the scenario's next step needs (an id to capture, a "
    "status to reach) within the step timeout",
}
_PLACEHOLDER_NUMBER = re.compile(r"<([a-z_]+):\d+>")
_QUOTED = re.compile(r"(?<![A-Za-z])'[^']*'")
_INDEX = re.compile(r"/\d+(?=/|$)")


def fix_for(rule: str) -> str:
    """What the target must do, in a few words: the rule's own requirement."""
    entry = RULES.get(rule)
    if entry is not None:
        return entry.text
    return _REPLAY_FIXES.get(rule, "see the rule's documentation")


def rule_link(rule: str, rules_doc: str = RULES_DOC) -> str:
    return f"[`{rule}`]({rules_doc}#{rule})"


def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _value(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= _MAX_VALUE else text[:_MAX_VALUE] + " …"


def _code(value: Any) -> str:
    return "`" + _cell(_value(value)).replace("`", "'") + "`"


# --- root causes ------------------------------------------------------------------------------


@dataclass(slots=True)
class RootCause:
    """Findings of one rule at one place (the pointer's field, ids and indices generalised),
    with one message: the same fault seen in several steps or scenarios."""

    rule: str
    severity: str
    place: str
    message: str
    findings: list[dict[str, Any]] = field(default_factory=list)

    @property
    def scenarios(self) -> list[str]:
        return list(dict.fromkeys(f["scenario"] for f in self.findings))

    @property
    def baselined(self) -> bool:
        return all(f["baselined"] for f in self.findings)

    def order(self) -> tuple[int, int, int, str]:
        return (
            int(self.baselined),
            _SEVERITY_ORDER.get(self.severity, 3),
            -len(self.scenarios),
            self.rule,
        )


def _general(text: str) -> str:
    return _PLACEHOLDER_NUMBER.sub(r"<\1>", text)


def _general_message(text: str) -> str:
    # Quoted names (a step, a key, a scenario) vary with the place, which the group keeps
    # apart by its field: "no step 'get'" and "no step 'schemas'" are one fault.
    return _QUOTED.sub("'…'", _general(text))


def _place(pointer: str) -> str:
    # The field a finding is about, wherever it sits: /kwargs/config/metadata/created_by and
    # /1/created_by are the same fault.
    segments = [s for s in _INDEX.sub("", _general(pointer)).split("/") if s]
    return segments[-1] if segments else ""


def _key(finding: dict[str, Any]) -> tuple[str, ...]:
    key = (finding["rule"], finding["severity"], _place(finding["pointer"] or ""))
    if finding["rule"] == "replay.value":
        # A value difference is its own cause only with the same values on both sides.
        return (*key, _value(finding["expected"]), _value(finding["actual"]))
    return (*key, _general_message(finding["message"]))


def root_causes(report: dict[str, Any]) -> list[RootCause]:
    """Every shown finding (MUST and SHOULD) grouped, worst first: unexpected before
    baselined, MUST before SHOULD, then by how many scenarios show it."""
    groups: dict[tuple[str, ...], RootCause] = {}
    for scenario in report["scenarios"]:
        for finding in scenario["findings"]:
            if finding["severity"] == "MAY":
                continue
            key = _key(finding)
            if key not in groups:
                groups[key] = RootCause(
                    rule=finding["rule"],
                    severity=finding["severity"],
                    place=_place(finding["pointer"] or ""),
                    message=_general_message(finding["message"]),
                )
            groups[key].findings.append(finding)
    return sorted(groups.values(), key=RootCause.order)


# --- sections ---------------------------------------------------------------------------------


def _capability_counts(report: dict[str, Any]) -> str:
    statuses = [c["status"] for c in report["capabilities"]]
    return (
        f"{statuses.count('pass')} of {len(statuses)} capabilities passed, "
        f"{statuses.count('fail')} failed, {statuses.count('not tested')} NOT TESTED"
    )


def _headline(report: dict[str, Any]) -> list[str]:
    summary = report["summary"]
    lines = [
        f"## LangGraph streaming conformance: {report['outcome'].upper()}, "
        f"level **{report['level']}**",
        "",
        f"`{report['target']}` ({report['target_kind']}), LLM {report['llm']['mode']} "
        f"(`{report['llm']['url']}`), {report['duration_s']:.1f} s",
        "",
        f"- Scenarios: {summary['scenarios']} run, {summary['passed']} passed, "
        f"{summary['failed']} failed, {summary['errors']} could not run, "
        f"{summary.get('not_tested', 0)} NOT TESTED",
        f"- Capabilities: {_capability_counts(report)}",
        f"- Findings: {summary['must']} MUST, {summary['should']} SHOULD, {summary['may']} MAY; "
        f"{summary['expected_failures']} baselined, {summary['stale_baseline']} stale",
    ]
    if report["fatal_error"]:
        lines += ["", f"**The suite could not run:** {_cell(report['fatal_error'])}"]
    return lines


def _worst(causes: list[RootCause], rules_doc: str) -> list[str]:
    shown = [cause for cause in causes if not cause.baselined][:WORST_SHOWN]
    if not shown:
        return []
    lines = [
        "",
        "### Fix first",
        "",
        "| # | rule | field | scenarios | what differs | fix |",
        "|---|---|---|---|---|---|",
    ]
    for number, cause in enumerate(shown, 1):
        first = cause.findings[0]
        what = first["message"]
        if first["expected"] is not None or first["actual"] is not None:
            what += f": expected {_code(first['expected'])}, got {_code(first['actual'])}"
        lines.append(
            f"| {number} | **{cause.severity}** {rule_link(cause.rule, rules_doc)} | "
            f"{_cell(cause.place) or '-'} | {len(cause.scenarios)} | {_cell(what)} | "
            f"{_cell(fix_for(cause.rule))} |"
        )
    more = sum(1 for cause in causes if not cause.baselined) - len(shown)
    if more > 0:
        lines += ["", f"… and {more} more root cause(s) below."]
    return lines


def _grouped(names: Iterable[str], limit: int = 12) -> str:
    names = list(names)
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def _stated_once(report: dict[str, Any]) -> list[str]:
    """Relaxations, ignore patterns, exclusions, stale entries and notes: each said once."""
    lines: list[str] = []
    by_reason: dict[str, list[str]] = {}
    for entry in report["relaxed"]:
        by_reason.setdefault(entry["reason"], []).append(entry["scenario"])
    for reason, scenarios in by_reason.items():
        lines.append(
            f"- **Relaxed** for {len(scenarios)} scenario(s) ({_grouped(scenarios)}): "
            f"{_cell(reason)}"
        )
    for entry in report.get("ignored", []):
        lines.append(
            f"- **Ignored** `{_cell(entry['pattern'])}` ({entry['findings']} finding(s) not "
            f"counted, listed in the JSON report): {_cell(entry['reason'])}"
        )
    excluded = report.get("excluded", {})
    for entry in excluded.get("capabilities", []):
        lines.append(f"- **NOT TESTED** capability {entry['name']}: {_cell(entry['reason'])}")
    out_of_scope = [e["name"] for e in excluded.get("scenarios", [])]
    if out_of_scope:
        lines.append(
            f"- **NOT TESTED** {len(out_of_scope)} scenario(s) declared out of scope: "
            f"{_grouped(out_of_scope)}"
        )
    for stale in report["baseline"]["stale"]:
        lines.append(f"- **Stale baseline entry** `{stale}`: it passes now; remove it")
    lines += [f"- {_cell(note)}" for note in report["notes"]]
    for scenario in report["scenarios"]:
        if scenario["status"] == "error":
            lines.append(f"- **Could not run** {scenario['name']}: {_cell(scenario['error'])}")
        elif scenario["status"] == "not tested":
            reason = _cell(scenario.get("not_tested", ""))
            lines.append(f"- **NOT TESTED** {scenario['name']}: {reason}")
    return ["", *lines] if lines else []


def _cause_section(number: int, cause: RootCause, rules_doc: str) -> list[str]:
    first = cause.findings[0]
    tag = " (baselined)" if cause.baselined else ""
    field_text = f" at `{_cell(cause.place)}`" if cause.place else ""
    lines = [
        "",
        f"#### {number}. {cause.severity} {rule_link(cause.rule, rules_doc)}{field_text}{tag}: "
        f"{_cell(cause.message)}",
        "",
        f"Fix: {_cell(fix_for(cause.rule))}. Seen {len(cause.findings)} time(s) in "
        f"{len(cause.scenarios)} scenario(s): {_grouped(cause.scenarios)}.",
        f"First at {_cell(first['location'])}: {_cell(first['message'])}",
    ]
    if first["expected"] is not None or first["actual"] is not None:
        lines.append(f"expected {_code(first['expected'])}, got {_code(first['actual'])}")
    return lines


def _capability_table(report: dict[str, Any]) -> list[str]:
    lines = [
        "",
        "<details><summary>Capabilities</summary>",
        "",
        "| capability | level | result | why not tested |",
        "|---|---|---|---|",
    ]
    for capability in report["capabilities"]:
        lines.append(
            f"| {capability['name']} | {capability['level']} | "
            f"{_STATUS[capability['status']]} | {_cell(capability.get('reason', ''))} |"
        )
    return [*lines, "", "</details>"]


def _scenario_table(report: dict[str, Any], only_failing: bool) -> list[str]:
    rows = [s for s in report["scenarios"] if not only_failing or s["status"] != "pass"]
    title = "Scenarios that did not pass" if only_failing else "Scenarios"
    lines = [
        "",
        f"<details><summary>{title} ({len(rows)})</summary>",
        "",
        "| scenario | capability | result | rules | time |",
        "|---|---|---|---|---|",
    ]
    for scenario in rows:
        rules = sorted({f["rule"] for f in scenario["findings"] if f["severity"] != "MAY"})
        lines.append(
            f"| {scenario['name']} | {scenario['capability']} | {_STATUS[scenario['status']]} | "
            f"{_cell(', '.join(rules)) or '-'} | {scenario['duration_s']:.2f} s |"
        )
    return [*lines, "", "</details>"]


# --- assembly ---------------------------------------------------------------------------------


def _size(lines: list[str]) -> int:
    return sum(len(line) + 1 for line in lines)


def markdown(
    report: dict[str, Any], *, rules_doc: str = RULES_DOC, limit: int = MAX_CHARACTERS
) -> str:
    causes = root_causes(report)
    head = [*_headline(report), *_worst(causes, rules_doc), *_stated_once(report)]
    footer = ["", "Full detail (every finding, expected and actual in full): the JSON report."]
    tables: list[str] = _capability_table(report) + _scenario_table(report, only_failing=False)
    if _size(head + tables + footer) > limit // 2:
        tables = _capability_table(report) + _scenario_table(report, only_failing=True)
    body: list[str] = []
    left_out = 0
    if causes:
        body += ["", "### Findings by root cause"]
    budget = limit - _size(head + tables + footer) - 200
    for number, cause in enumerate(causes, 1):
        section = _cause_section(number, cause, rules_doc)
        if left_out or _size(body + section) > budget:
            left_out += 1
            continue
        body += section
    if left_out:
        body += [
            "",
            f"… {left_out} more root cause(s) left out to fit a comment: see the JSON report.",
        ]
    text = "\n".join([*head, *body, *tables, *footer]) + "\n"
    if len(text) > limit:  # only a pathological head (thousands of notes) gets here
        text = text[: limit - 80] + "\n\n… cut to fit a comment: see the JSON report.\n"
    return text


def write_markdown(report: dict[str, Any], path: Path, *, rules_doc: str = RULES_DOC) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(markdown(report, rules_doc=rules_doc), encoding="utf-8")
