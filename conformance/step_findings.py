"""What a scenario's own steps say about the findings judged on its transcript.

Three things the comparison with the fixture cannot know, because it sees transcripts, not
steps:

- a scenario that could not go on never sent its later steps: they are not divergences of the
  target, so its one ``scenario.incomplete`` finding names them instead of one MUST
  ``replay.missing-step`` each (one cause counted many times);
- a step may accept other statuses than the one ``langgraph dev`` answers
  (``Request.also_accept``): ids are opaque, so a server whose ids are not UUIDs rightly
  answers 404 (no such id) where ``langgraph dev`` refuses a malformed UUID or an unknown graph
  id with 422. Such a status is not a ``replay.status`` finding;
- a success answered with another success status (200 for ``langgraph dev``'s 204 or 202)
  where ``langgraph dev``'s answer has no body: the SDK checks only that a status is 2xx and
  reads nothing from such an answer, so the difference is a SHOULD, not a MUST.

Pure: no I/O.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from conformance.findings import Finding, Severity
from conformance.scenarios import Request, Scenario, Stream
from conformance.transcript import Transcript

MISSING_STEP_RULE = "replay.missing-step"
"""A fixture step the target's transcript lacks (``conformance.compare``)."""

STATUS_RULE = "replay.status"


def settle(
    scenario: Scenario,
    aborted: Sequence[Finding],
    findings: Sequence[Finding],
    fixture: Transcript | None = None,
) -> list[Finding]:
    """The scenario's findings, its ``scenario.incomplete`` (``aborted``) first; ``fixture``
    (what ``langgraph dev`` answered) tells which successes had no body."""
    kept = [finding for finding in findings if not _accepted_status(scenario, finding)]
    if fixture is not None:
        kept = [_bodiless_success(finding, fixture) for finding in kept]
    return name_steps_not_run(aborted, kept)


def name_steps_not_run(aborted: Sequence[Finding], findings: Sequence[Finding]) -> list[Finding]:
    """Fold the ``replay.missing-step`` findings of a scenario that could not go on into its
    incomplete finding; a scenario that ran to its end keeps them (a step it skipped is a
    finding)."""
    if not aborted:
        return list(findings)
    not_run = [finding.step for finding in findings if finding.rule == MISSING_STEP_RULE]
    kept = [finding for finding in findings if finding.rule != MISSING_STEP_RULE]
    if not not_run:
        return [*aborted, *kept]
    incomplete = aborted[0]
    named = dataclasses.replace(
        incomplete, message=f"{incomplete.message} (steps not run: {', '.join(not_run)})"
    )
    return [named, *aborted[1:], *kept]


def _accepted_status(scenario: Scenario, finding: Finding) -> bool:
    if finding.rule != STATUS_RULE or not finding.step:
        return False
    try:
        step = scenario.step(finding.step)
    except KeyError:
        return False
    if not isinstance(step, Request | Stream):
        return False
    return finding.actual in step.also_accept


def _bodiless_success(finding: Finding, fixture: Transcript) -> Finding:
    if finding.rule != STATUS_RULE or finding.severity is not Severity.MUST:
        return finding
    if not (_is_success(finding.expected) and _is_success(finding.actual)):
        return finding
    recorded = next((e for e in fixture.exchanges if e.step == finding.step), None)
    if recorded is None or recorded.response.body.strip():
        return finding
    return dataclasses.replace(
        finding,
        severity=Severity.SHOULD,
        message=f"{finding.message} (both succeed, and langgraph dev's answer has no body: "
        "a client reads nothing from either)",
    )


def _is_success(status: object) -> bool:
    return isinstance(status, int) and 200 <= status < 300
