"""The measured facts, in one shape for every contestant (HTTP server, in-process graph, the
fake LLM read directly), so one piece of code turns them into figures.

All times are seconds. Everything here converts to and from plain JSON, because the in-process
floor measures in a child process and sends its samples back over a pipe.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class RunSample:
    """One run: request sent (t = 0) to end of stream."""

    ok: bool
    latency: float
    """Request sent to the stream's end (or to the failure)."""
    events: int = 0
    token_events: int = 0
    first_token_at: float | None = None
    last_token_at: float | None = None
    error: str | None = None
    """Why the run failed: HTTP status and body, exception, error event, missing tokens."""

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RunSample:
        return cls(**data)


@dataclass(frozen=True, slots=True)
class BatchResult:
    """``runs`` runs by ``concurrency`` closed-loop workers (each starts its next run as soon
    as its previous one ends)."""

    concurrency: int
    wall_seconds: float
    """First run sent to last run ended."""
    samples: tuple[RunSample, ...]

    @property
    def completed(self) -> int:
        return sum(1 for sample in self.samples if sample.ok)

    @property
    def failures(self) -> tuple[RunSample, ...]:
        return tuple(sample for sample in self.samples if not sample.ok)

    @property
    def events(self) -> int:
        return sum(sample.events for sample in self.samples)

    @property
    def runs_per_second(self) -> float:
        return self.completed / self.wall_seconds if self.wall_seconds > 0 else 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "concurrency": self.concurrency,
            "wall_seconds": self.wall_seconds,
            "samples": [asdict(sample) for sample in self.samples],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> BatchResult:
        return cls(
            concurrency=int(data["concurrency"]),
            wall_seconds=float(data["wall_seconds"]),
            samples=tuple(RunSample.from_json(sample) for sample in data["samples"]),
        )


@dataclass(frozen=True, slots=True)
class HoldOutcome:
    """Streams opened and held open at once, then released."""

    requested: int
    opened: int
    """Streams accepted in time and still open when memory was read (HTTP 200 and headers; for
    the in-process floor, a first graph chunk)."""
    active: int
    """Of those, the streams that had delivered an event: their run was executing. A server
    that queues runs keeps the others open with heartbeats only."""
    open_seconds: float
    """First request sent to the last stream opened."""
    lingering: int = 0
    """Streams whose task was still running 10 s after it was cancelled (for the in-process
    floor: graph runs that did not stop when cancelled)."""
    failures: tuple[str, ...] = field(default=())
    """Why streams failed to open, or ended while they should have been held."""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> HoldOutcome:
        return cls(
            requested=int(data["requested"]),
            opened=int(data["opened"]),
            active=int(data["active"]),
            open_seconds=float(data["open_seconds"]),
            lingering=int(data.get("lingering", 0)),
            failures=tuple(data["failures"]),
        )
