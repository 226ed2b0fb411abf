"""Everything one benchmark run measured, kept raw (every batch, every sample) so figures and
ratios are computed from it afterwards and the run can be saved as JSON and re-reported."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from bench.samples import BatchResult, HoldOutcome

FIRST_TOKEN = "first token"
LONG_ANSWER = "long answer"
THROUGHPUT = "throughput"
WARM_UP = "warm-up"


@dataclass(frozen=True, slots=True)
class BatchRecord:
    contestant: str
    figure: str
    workload: str
    concurrency: int
    round: int
    batch: BatchResult
    server_cpu_seconds: float
    """CPU of the contestant's process tree during the batch."""
    client_cpu_seconds: float
    """CPU of the load generator (this process) during the batch."""
    llm_cpu_seconds: float
    """CPU of the shared fake LLM during the batch."""

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["batch"] = self.batch.to_json()
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> BatchRecord:
        return cls(**{**data, "batch": BatchResult.from_json(data["batch"])})


@dataclass(frozen=True, slots=True)
class MemoryRecord:
    contestant: str
    rest_rss_bytes: int
    """After start-up and warm-up, idle."""
    rest_pss_bytes: int | None = None
    before_hold_rss_bytes: int | None = None
    held_rss_bytes: int | None = None
    hold: HoldOutcome | None = None

    @property
    def per_stream_bytes(self) -> float | None:
        if self.hold is None or not self.hold.opened or self.held_rss_bytes is None:
            return None
        if self.before_hold_rss_bytes is None:
            return None
        return (self.held_rss_bytes - self.before_hold_rss_bytes) / self.hold.opened

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["hold"] = None if self.hold is None else self.hold.to_json()
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> MemoryRecord:
        hold = data.get("hold")
        return cls(**{**data, "hold": None if hold is None else HoldOutcome.from_json(hold)})


@dataclass(slots=True)
class BenchResults:
    plan: dict[str, Any]
    contestants: dict[str, str]
    """Key -> label, in the order they took turns."""
    environment: dict[str, Any]
    """Machine, versions, date, settings: see ``bench.machine``."""
    records: list[BatchRecord] = field(default_factory=list)
    memory: dict[str, MemoryRecord] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    """What went wrong on the way (a contestant that could not be measured, ...)."""

    def batches(
        self,
        *,
        contestant: str,
        figure: str,
        workload: str | None = None,
        concurrency: int | None = None,
    ) -> list[BatchRecord]:
        return [
            record
            for record in self.records
            if record.contestant == contestant
            and record.figure == figure
            and (workload is None or record.workload == workload)
            and (concurrency is None or record.concurrency == concurrency)
        ]

    def to_json(self) -> dict[str, Any]:
        return {
            "plan": self.plan,
            "contestants": self.contestants,
            "environment": self.environment,
            "records": [record.to_json() for record in self.records],
            "memory": {key: record.to_json() for key, record in self.memory.items()},
            "notes": self.notes,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> BenchResults:
        return cls(
            plan=data["plan"],
            contestants=data["contestants"],
            environment=data["environment"],
            records=[BatchRecord.from_json(record) for record in data["records"]],
            memory={key: MemoryRecord.from_json(record) for key, record in data["memory"].items()},
            notes=list(data.get("notes", [])),
        )
