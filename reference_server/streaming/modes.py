"""The nine stream modes of the API and the LangGraph stream modes that feed them."""

from __future__ import annotations

from collections.abc import Sequence

from langgraph.types import StreamMode

STREAM_MODES: tuple[str, ...] = (
    "values",
    "updates",
    "messages",
    "messages-tuple",
    "events",
    "debug",
    "custom",
    "tasks",
    "checkpoints",
)
DEFAULT_STREAM_MODES: tuple[str, ...] = ("values",)

# API mode -> LangGraph ``astream`` mode; ``events`` comes from ``astream_events`` instead.
_GRAPH_MODES: dict[str, StreamMode] = {
    "values": "values",
    "updates": "updates",
    "messages": "messages",
    "messages-tuple": "messages",
    "debug": "debug",
    "custom": "custom",
    "tasks": "tasks",
    "checkpoints": "checkpoints",
}


class InvalidStreamModeError(ValueError):
    """A requested stream mode is not one of the nine."""


def normalise_stream_modes(raw: str | Sequence[str] | None) -> tuple[str, ...]:
    """The requested modes as a tuple without duplicates, in request order."""
    if raw is None:
        return DEFAULT_STREAM_MODES
    requested = [raw] if isinstance(raw, str) else list(raw)
    modes: list[str] = []
    for mode in requested:
        if not isinstance(mode, str) or mode not in STREAM_MODES:
            raise InvalidStreamModeError(
                f"stream_mode: {mode!r} is not one of {', '.join(STREAM_MODES)}"
            )
        if mode not in modes:
            modes.append(mode)
    return tuple(modes) or DEFAULT_STREAM_MODES


def graph_stream_modes(modes: Sequence[str]) -> list[StreamMode]:
    """The LangGraph modes to ask ``astream`` for so that every requested API mode is fed."""
    graph_modes: list[StreamMode] = []
    for mode in modes:
        graph_mode = _GRAPH_MODES.get(mode)
        if graph_mode is not None and graph_mode not in graph_modes:
            graph_modes.append(graph_mode)
    return graph_modes
