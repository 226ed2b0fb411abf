"""Expected failures: a file of ids a team has accepted for now.

An id names a rule of a scenario (``scenario::rule``: every failure of that rule) or one
finding (``scenario::rule::step`` or ``scenario::rule::step::/json/pointer``: only the
failures of that rule at that step, at that pointer), so accepting one known difference does
not hide a new one of the same rule.

A failure the baseline names passes; a failure it does not name fails; an entry whose scenario
ran and no longer has a failure it names is *stale* and fails too, so a baseline only ever
shrinks.

Two file formats, told apart by content:

- text: one id per line; blank lines and ``#`` comments ignored;
- JSON: ``{"expected_failures": ["scenario::rule", ...]}`` or a bare list of ids.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from conformance.findings import Finding

SEPARATOR = "::"


class BaselineError(ValueError):
    """The baseline file cannot be used; the message names the file, line and entry."""


@dataclass(frozen=True, slots=True)
class Baseline:
    entries: frozenset[tuple[str, str]] = frozenset()
    """(scenario, selector) pairs; a selector is ``rule[::step[::pointer]]``."""
    path: str = ""

    def rules_for(self, scenario: str) -> frozenset[str]:
        return frozenset(rule for name, rule in self.entries if name == scenario)

    def stale(
        self, failing: Mapping[str, Iterable[Finding]], judged: Collection[str]
    ) -> list[tuple[str, str]]:
        """Entries whose scenario was judged in this run and shows no failing finding of the
        rule. ``failing`` maps a scenario to its MUST findings; scenarios not ``judged`` (not
        selected, or could not run) say nothing about their entries."""
        stale = []
        for scenario, rule in sorted(self.entries):
            if scenario not in judged:
                continue
            if not any(selects(rule, f) for f in failing.get(scenario, ())):
                stale.append((scenario, rule))
        return stale

    def unknown_scenarios(self, known: Collection[str]) -> list[str]:
        return sorted({scenario for scenario, _ in self.entries if scenario not in known})


def selects(selector: str, finding: Finding) -> bool:
    """Whether a baseline selector (``rule``, ``rule::step``, ``rule::step::pointer``) names
    this finding."""
    rule, _, rest = selector.partition(SEPARATOR)
    step, _, pointer = rest.partition(SEPARATOR)
    if rule != finding.rule:
        return False
    if rest and step != finding.step:
        return False
    return not pointer or pointer == finding.pointer


def finding_id(scenario: str, finding: Finding) -> str:
    """The most precise baseline id of a finding."""
    parts = [scenario, finding.rule]
    if finding.step:
        parts.append(finding.step)
        if finding.pointer:
            parts.append(finding.pointer)
    return SEPARATOR.join(parts)


def parse_entry(text: str, where: str) -> tuple[str, str]:
    scenario, separator, selector = text.strip().partition(SEPARATOR)
    parts = selector.split(SEPARATOR, 2)
    if (
        not separator
        or not scenario.strip()
        or not parts[0].strip()
        or any(not part.strip() for part in parts[:2])
        or (len(parts) == 3 and not parts[2].startswith("/"))
    ):
        raise BaselineError(
            f"{where}: {text.strip()!r} is not a baseline entry; expected 'scenario::rule', "
            "'scenario::rule::step' or 'scenario::rule::step::/pointer'"
        )
    return scenario.strip(), SEPARATOR.join(part.strip() for part in parts)


def _json_entries(raw: object, path: Path) -> list[str]:
    items = raw.get("expected_failures") if isinstance(raw, dict) else raw
    if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
        raise BaselineError(
            f"{path}: a JSON baseline is a list of 'scenario::rule' strings or "
            '{"expected_failures": [...]}'
        )
    return items


def load_baseline(path: Path) -> Baseline:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise BaselineError(f"cannot read baseline {path}: {error.strerror or error}") from error
    entries: set[tuple[str, str]] = set()
    if text.lstrip().startswith(("{", "[")):
        try:
            raw = json.loads(text)
        except ValueError as error:
            raise BaselineError(f"{path}: invalid JSON: {error}") from error
        for index, item in enumerate(_json_entries(raw, path)):
            entries.add(parse_entry(item, f"{path} entry {index}"))
    else:
        for number, line in enumerate(text.splitlines(), start=1):
            content = line.split("#", 1)[0].strip()
            if content:
                entries.add(parse_entry(content, f"{path}:{number}"))
    return Baseline(entries=frozenset(entries), path=str(path))


def write_baseline(path: Path, failing: Iterable[tuple[str, str]]) -> None:
    """Write the given (scenario, selector) failures as a text baseline, sorted, one per
    line."""
    lines = [
        "# Expected conformance failures, one per line: scenario::rule (every failure of the",
        "# rule) or scenario::rule::step[::/pointer] (that one finding).",
        "# A listed failure passes; a listed entry that passes again fails as stale.",
        *(f"{scenario}{SEPARATOR}{rule}" for scenario, rule in sorted(set(failing))),
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
