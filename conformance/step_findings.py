"""What a scenario's own steps say about the findings judged on its transcript.

Two things the comparison with the fixture cannot know, because it sees transcripts, not
steps:

- a scenario that could not go on never sent its later steps: they are not divergences of the
  target, so its one ``scenario.incomplete`` finding names them instead of one MUST
  ``replay.missing-step`` each (one cause counted many times);
- a step may accept other statuses than the one ``langgraph dev`` answers
  (``Request.also_accept``): ids are opaque, so a server whose ids are not UUIDs rightly
  answers 404 (no such id) where ``langgraph dev`` refuses a malformed UUID or an unknown graph
  id with 422. Such a status is not a ``replay.status`` finding.

Pure: no I/O.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from conformance.findings import Finding
from conformance.scenarios import Request, Scenario, Stream

MISSING_STEP_RULE = "replay.missing-step"
"""A fixture step the target's transcript lacks (``conformance.compare``)."""

STATUS_RULE = "replay.status"


def settle(
    scenario: Scenario, aborted: Sequence[Finding], findings: Sequence[Finding]
) -> list[Finding]:
    """The scenario's findings, its ``scenario.incomplete`` (``aborted``) first."""
    kept = [finding for finding in findings if not _accepted_status(scenario, finding)]
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
