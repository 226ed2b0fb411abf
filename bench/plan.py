"""How much to measure: the quick plan a developer runs before and after a change, and the full
plan behind the published table."""

from __future__ import annotations

from dataclasses import dataclass, replace

from bench.contestants import (
    ALL_CONTESTANTS,
    FAKE_LLM,
    FLOOR,
    HTTP_FLOOR,
    LANGGRAPH_DEV_JOBS,
    POSTGRES_WORKERS,
    REFERENCE,
    REFERENCE_SQLITE,
)


@dataclass(frozen=True, slots=True)
class Plan:
    name: str
    contestants: tuple[str, ...]
    """Who takes part unless ``--contestants`` says otherwise."""
    rounds: int
    """Figures 1 and 2 are measured this many times per contestant, contestants taking turns,
    so a ratio can be taken within each round."""
    throughput_rounds: int
    """The same for figure 3 (the expensive one); at most ``rounds``."""
    warmup_runs: int
    first_token_runs: int
    """Greeting runs, one at a time, per contestant per round."""
    long_tokens: int
    long_runs: int
    """Long answers per contestant per round."""
    concurrency_levels: tuple[int, ...]
    runs_per_stream: int
    """A batch at concurrency C makes C x this many runs (at least ``min_batch_runs``)."""
    min_batch_runs: int
    hold_count: int
    """Streams held open at once for the memory figure."""
    hold_seconds: float
    """How long they are held, once all are open, before memory is read."""
    hold_token_delay_ms: int
    """The fake LLM's pause before each token of a held stream."""
    open_timeout: float
    """How long the held streams may take to open."""

    def __post_init__(self) -> None:
        for name in (
            "rounds",
            "throughput_rounds",
            "first_token_runs",
            "long_tokens",
            "long_runs",
            "runs_per_stream",
        ):
            if getattr(self, name) < 1:
                raise ValueError(f"plan {self.name}: {name} must be at least 1")
        if self.warmup_runs < 0 or self.hold_count < 0 or self.min_batch_runs < 1:
            raise ValueError(
                f"plan {self.name}: warmup_runs and hold_count must be >= 0, min_batch_runs >= 1"
            )
        if self.throughput_rounds > self.rounds:
            raise ValueError(f"plan {self.name}: throughput_rounds must not exceed rounds")
        if not self.contestants:
            raise ValueError(f"plan {self.name}: no contestants")
        if not self.concurrency_levels or min(self.concurrency_levels) < 1:
            raise ValueError(f"plan {self.name}: concurrency levels must be positive")

    def batch_runs(self, concurrency: int) -> int:
        return max(concurrency * self.runs_per_stream, self.min_batch_runs)

    def with_overrides(
        self,
        *,
        rounds: int | None = None,
        contestants: tuple[str, ...] | None = None,
        concurrency_levels: tuple[int, ...] | None = None,
        hold_count: int | None = None,
    ) -> Plan:
        # A new number of rounds is the number of throughput rounds too.
        changes = {
            name: value
            for name, value in (
                ("rounds", rounds),
                ("throughput_rounds", rounds),
                ("contestants", contestants),
                ("concurrency_levels", concurrency_levels),
                ("hold_count", hold_count),
            )
            if value is not None
        }
        return replace(self, **changes)  # type: ignore[arg-type]


QUICK = Plan(
    name="quick",
    # `langgraph dev` as it ships runs one run at a time, about one a second: it alone would
    # take minutes, so the quick plan compares against the raised one (--full has both).
    contestants=(REFERENCE, LANGGRAPH_DEV_JOBS, HTTP_FLOOR, FLOOR, FAKE_LLM),
    rounds=3,
    throughput_rounds=2,
    warmup_runs=3,
    first_token_runs=3,
    long_tokens=2000,
    long_runs=1,
    concurrency_levels=(10, 50, 100),
    runs_per_stream=1,
    min_batch_runs=10,
    hold_count=100,
    hold_seconds=2.0,
    hold_token_delay_ms=1000,
    open_timeout=60.0,
)

FULL = replace(
    QUICK,
    name="full",
    # The storage contestants answer their own questions (SQLite against in-memory, scale-out):
    # asked for by name.
    contestants=tuple(
        key for key in ALL_CONTESTANTS if key not in POSTGRES_WORKERS and key != REFERENCE_SQLITE
    ),
    rounds=5,
    warmup_runs=5,
    first_token_runs=6,
    concurrency_levels=(1, 10, 50, 100, 500),
    hold_count=1000,
    hold_seconds=5.0,
    open_timeout=300.0,
)
