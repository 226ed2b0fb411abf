"""What the suite says about a target: one ``Finding`` per broken expectation.

Every finding cites the rule that governs it (a rule of the catalogue in
``conformance.rules.catalog``, or ``replay.*`` for a divergence from a recorded session) and
says where: the scenario, the step (exchange), the event index within a stream and a JSON
pointer within a payload.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Severity(StrEnum):
    """MUST violations fail a run; SHOULD violations are warnings; MAY are notes."""

    MUST = "MUST"
    SHOULD = "SHOULD"
    MAY = "MAY"


@dataclass(frozen=True, slots=True)
class Finding:
    rule: str
    """Rule id, e.g. ``stream.metadata-first`` or ``replay.payload``."""
    severity: Severity
    message: str
    scenario: str = ""
    step: str = ""
    event_index: int | None = None
    pointer: str = ""
    """JSON pointer into the payload (RFC 6901), empty when the finding is about the whole."""
    expected: Any = None
    actual: Any = None

    @property
    def is_failure(self) -> bool:
        return self.severity is Severity.MUST

    def location(self) -> str:
        parts = [self.scenario, self.step]
        if self.event_index is not None:
            parts.append(f"event {self.event_index}")
        if self.pointer:
            parts.append(self.pointer)
        return " / ".join(part for part in parts if part)
