"""What a target server can be judged on, and at which conformance level.

Every scenario and every rule names one capability. The report states the level a target
reached: ``core`` when every core capability passed, ``extended`` when every capability did.
A capability that no scenario exercised is reported as NOT TESTED, never dropped.
"""

from __future__ import annotations

from enum import StrEnum


class Level(StrEnum):
    CORE = "core"
    EXTENDED = "extended"


CAPABILITIES: dict[str, tuple[Level, str]] = {
    # What every client needs.
    "assistants": (Level.CORE, "assistant create/read/update/delete/search and system assistants"),
    "threads": (Level.CORE, "thread create/read/update/delete/search, state and history"),
    "runs": (Level.CORE, "runs on a thread: stream, wait, background, list, get"),
    "stateless_runs": (Level.CORE, "stateless /runs/stream and /runs/wait"),
    "stream_values": (Level.CORE, "stream_mode values"),
    "stream_updates": (Level.CORE, "stream_mode updates"),
    "stream_messages": (Level.CORE, "stream_mode messages (messages/metadata, messages/partial)"),
    "stream_messages_tuple": (Level.CORE, "stream_mode messages-tuple"),
    "errors": (Level.CORE, "error statuses before a stream, error events inside one"),
    "sse_framing": (Level.CORE, "SSE framing and stream response headers"),
    # What fuller clients and deployments use.
    "resumable_streams": (Level.EXTENDED, "stream_resumable, event ids, Last-Event-ID replay"),
    "join": (Level.EXTENDED, "join a run, join its stream"),
    "cancel": (Level.EXTENDED, "cancel a run (interrupt, rollback) and on_disconnect"),
    "multitask": (Level.EXTENDED, "multitask_strategy reject, interrupt, rollback, enqueue"),
    "interrupts": (Level.EXTENDED, "interrupt() in a graph and resume by command"),
    "subgraphs": (Level.EXTENDED, "stream_subgraphs and mode|namespace event names"),
    "custom_stream": (Level.EXTENDED, "stream_mode custom (stream writer events)"),
    "store": (Level.EXTENDED, "the store API: put, get, delete, search, namespaces"),
    "stream_events": (Level.EXTENDED, "stream_mode events"),
    "stream_debug": (Level.EXTENDED, "stream_mode debug"),
    "stream_tasks": (Level.EXTENDED, "stream_mode tasks"),
    "stream_checkpoints": (Level.EXTENDED, "stream_mode checkpoints"),
    "cors": (Level.EXTENDED, "browser clients on another origin: preflight, Access-Control-*"),
}


def level_of(capability: str) -> Level:
    try:
        return CAPABILITIES[capability][0]
    except KeyError:
        raise KeyError(
            f"unknown capability {capability!r}; known: {', '.join(CAPABILITIES)}"
        ) from None
