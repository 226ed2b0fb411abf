"""``--ignore``: leave a named field or a JSON pointer out of the verdict, and say so.

A pattern starting with ``/`` is a JSON pointer (RFC 6901): it covers the findings at that
pointer and below it (``/metadata`` covers ``/metadata/created_by``). Any other pattern is a
field name, or a relative path of names (``metadata/created_by``): it covers the findings whose
pointer contains it as whole segments, at any depth. Findings without a pointer (a missing
header, an event out of order) are never covered: ignoring a field cannot hide them.

Covered findings are not counted for the verdict but are kept, so the JSON report still lists
them, and the reports state every pattern and how many findings it covered.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from conformance.findings import Finding


@dataclass(frozen=True, slots=True)
class IgnoreRule:
    pattern: str
    reason: str = "--ignore"
    """Who asked: the option, or the suite itself (its stand-in assistants)."""
    expected: Any = None
    """When set, only findings whose expected (recorded) value is this one."""

    def covers(self, finding: Finding) -> bool:
        if not finding.pointer:
            return False
        if self.expected is not None and finding.expected != self.expected:
            return False
        if self.pattern.startswith("/"):
            return finding.pointer == self.pattern or finding.pointer.startswith(
                self.pattern.rstrip("/") + "/"
            )
        return f"/{self.pattern.strip('/')}/" in f"{finding.pointer}/"


def parse_ignore(text: str) -> IgnoreRule:
    pattern = text.strip()
    if not pattern or pattern == "/" or "//" in pattern:
        raise ValueError(
            f"--ignore {text!r}: expected a field name (created_by), a path of names "
            "(metadata/created_by) or a JSON pointer (/kwargs/config/metadata/created_by)"
        )
    return IgnoreRule(pattern=pattern)


def split(
    findings: Iterable[Finding], rules: Iterable[IgnoreRule]
) -> tuple[list[Finding], list[tuple[IgnoreRule, Finding]]]:
    """(findings that count, covered findings with the first rule that covers each)."""
    rules = list(rules)
    kept: list[Finding] = []
    covered: list[tuple[IgnoreRule, Finding]] = []
    for finding in findings:
        rule = next((rule for rule in rules if rule.covers(finding)), None)
        if rule is None:
            kept.append(finding)
        else:
            covered.append((rule, finding))
    return kept, covered
