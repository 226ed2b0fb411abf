"""The body of a run-creating request, validated as ``langgraph dev`` validates it."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator

from reference_server.http import RequestModel
from reference_server.streaming.modes import normalise_stream_modes

MultitaskStrategy = Literal["reject", "interrupt", "rollback", "enqueue"]
OnDisconnect = Literal["cancel", "continue"]
IfNotExists = Literal["create", "reject"]
OnCompletion = Literal["delete", "keep"]
Durability = Literal["sync", "async", "exit"]
MAX_AFTER_SECONDS = 7 * 24 * 3600
"""A week: a run scheduled later than that is not what this server is for."""


class CommandBody(RequestModel):
    """``command``: resume an interrupt, update the state, or go to nodes."""

    resume: Any = None
    update: Any = None
    goto: Any = None


class CheckpointBody(RequestModel):
    checkpoint_id: str | None = None
    checkpoint_ns: str | None = None
    checkpoint_map: dict[str, Any] | None = None
    thread_id: str | None = None


class RunCreate(RequestModel):
    assistant_id: str
    input: Any = None
    command: CommandBody | None = None
    metadata: dict[str, Any] | None = None
    config: dict[str, Any] | None = None
    context: dict[str, Any] | None = None
    checkpoint: CheckpointBody | None = None
    checkpoint_id: str | None = None
    checkpoint_during: bool | None = None
    durability: Durability | None = None
    interrupt_before: Literal["*"] | list[str] | None = None
    interrupt_after: Literal["*"] | list[str] | None = None
    webhook: str | None = None
    feedback_keys: list[str] | None = None
    stream_mode: str | list[str] | None = None
    stream_subgraphs: bool = False
    stream_resumable: bool = False
    multitask_strategy: MultitaskStrategy = "enqueue"
    on_disconnect: OnDisconnect = "continue"
    if_not_exists: IfNotExists = "reject"
    on_completion: OnCompletion = "delete"
    after_seconds: float = Field(default=0, ge=0, le=MAX_AFTER_SECONDS)

    @field_validator("stream_mode")
    @classmethod
    def _known_stream_modes(cls, value: str | list[str] | None) -> list[str]:
        return list(normalise_stream_modes(value))

    @field_validator("config")
    @classmethod
    def _config_shape(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is not None:
            for key in ("configurable", "metadata"):
                if key in value and value[key] is not None and not isinstance(value[key], dict):
                    raise ValueError(f"config.{key} must be an object")
            if (
                "tags" in value
                and value["tags"] is not None
                and not isinstance(value["tags"], list)
            ):
                raise ValueError("config.tags must be an array")
        return value

    @property
    def stream_modes(self) -> list[str]:
        return list(normalise_stream_modes(self.stream_mode))
