"""What a person at a terminal sees: one line per scenario as it finishes, then a summary.

The progress lines come from live results (the JSON does not exist yet while scenarios run);
the summary is made from the JSON report, like every other format.
"""

from __future__ import annotations

from typing import Any, TextIO

from conformance.report.results import ScenarioResult, ScenarioStatus

_LABEL = {"pass": "PASS", "fail": "FAIL", "error": "ERROR", "not tested": "NOT TESTED"}


class ProgressPrinter:
    """Prints ``[ 3/40] PASS  stream_values_greeting  0.42 s`` as each scenario finishes."""

    def __init__(self, stream: TextIO, total: int) -> None:
        self._stream = stream
        self._total = total
        self._done = 0

    def scenario_done(self, result: ScenarioResult) -> None:
        self._done += 1
        width = len(str(self._total))
        line = (
            f"[{self._done:>{width}}/{self._total}] {_LABEL[result.status.value]:<5} "
            f"{result.name}  {result.duration_s:.2f} s"
        )
        if result.status is ScenarioStatus.FAIL:
            first = result.failures[0]
            line += f"\n        {first.rule} at {first.location()}: {first.message}"
        elif result.status is ScenarioStatus.ERROR:
            line += f"\n        {result.error}"
        elif result.status is ScenarioStatus.NOT_TESTED:
            line += f"\n        {result.not_tested}"
        self._stream.write(line + "\n")
        self._stream.flush()


def _table(headers: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(row[i]) for row in [headers, *rows]) for i in range(len(headers))]

    def line(cells: list[str]) -> str:
        cells_text = (cell.ljust(width) for cell, width in zip(cells, widths, strict=True))
        return "  ".join(cells_text).rstrip()

    return [line(headers), line(["-" * width for width in widths]), *map(line, rows)]


def summary(report: dict[str, Any]) -> str:
    rows = []
    for scenario in report["scenarios"]:
        rules = sorted(
            {
                f["rule"] + (" (baselined)" if f["baselined"] else "")
                for f in scenario["findings"]
                if f["severity"] == "MUST"
            }
        )
        rows.append(
            [
                scenario["name"],
                scenario["level"],
                _LABEL[scenario["status"]],
                f"{scenario['duration_s']:.2f} s",
                ", ".join(rules),
            ]
        )
    lines = [""]
    if rows:
        lines += _table(["scenario", "level", "result", "time", "failing rules"], rows)
        lines.append("")
    capability_rows = [
        [c["name"], c["level"], _LABEL[c["status"]], c.get("reason", "")]
        for c in report["capabilities"]
    ]
    headers = ["capability", "level", "result", "why not tested"]
    if not any(row[3] for row in capability_rows):
        headers, capability_rows = headers[:3], [row[:3] for row in capability_rows]
    lines += _table(headers, capability_rows)
    lines.append("")
    for excluded in report.get("excluded", {}).get("scenarios", []):
        lines.append(f"NOT TESTED scenario {excluded['name']}: {excluded['reason']}")
    for stale in report["baseline"]["stale"]:
        lines.append(f"STALE baseline entry {stale}: it passes now; remove it from the baseline")
    by_reason: dict[str, list[str]] = {}
    for entry in report["relaxed"]:
        by_reason.setdefault(entry["reason"], []).append(entry["scenario"])
    for reason, names in by_reason.items():
        lines.append(f"relaxed ({len(names)} scenarios: {', '.join(names)}): {reason}")
    for entry in report.get("ignored", []):
        lines.append(
            f"ignored {entry['pattern']} ({entry['findings']} findings not counted): "
            f"{entry['reason']}"
        )
    lines += [f"note: {note}" for note in report["notes"]]
    if report["fatal_error"]:
        lines.append(f"COULD NOT RUN: {report['fatal_error']}")
    totals = report["summary"]
    statuses = [c["status"] for c in report["capabilities"]]
    lines.append(
        f"capabilities: {statuses.count('pass')} of {len(statuses)} passed, "
        f"{statuses.count('fail')} failed, {statuses.count('not tested')} NOT TESTED"
    )
    lines.append(
        f"{report['outcome'].upper()}: level {report['level']}; {totals['passed']} passed, "
        f"{totals['failed']} failed, {totals['errors']} could not run, "
        f"{totals.get('not_tested', 0)} NOT TESTED of "
        f"{totals['scenarios']} scenarios; {totals['must']} MUST, {totals['should']} SHOULD "
        f"findings; {report['duration_s']:.1f} s against {report['target']}"
    )
    return "\n".join(lines) + "\n"
