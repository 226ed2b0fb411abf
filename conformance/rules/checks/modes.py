"""Stream modes: only the requested ones, and namespaces only with stream_subgraphs."""

from __future__ import annotations

from collections.abc import Iterator

from conformance.rules.context import StreamContext, Violation

EVENT_NAMES_OF_MODE: dict[str, frozenset[str]] = {
    "values": frozenset({"values"}),
    "updates": frozenset({"updates"}),
    "messages": frozenset({"messages/metadata", "messages/partial", "messages/complete"}),
    "messages-tuple": frozenset({"messages"}),
    "events": frozenset({"events"}),
    "debug": frozenset({"debug"}),
    "custom": frozenset({"custom"}),
    "tasks": frozenset({"tasks"}),
    "checkpoints": frozenset({"checkpoints"}),
}
"""The event names (before any ``|namespace``) each stream mode produces on langgraph dev."""

ALWAYS_ALLOWED: frozenset[str] = frozenset({"metadata", "error", "end"})
"""Events of every stream whatever its modes (``end`` is judged by stream.end-event)."""


def requested_only(context: StreamContext) -> Iterator[Violation]:
    modes = context.requested_modes
    if modes is None:
        return
    allowed = set(ALWAYS_ALLOWED)
    options = context.run_options or {}
    if options.get("feedback_keys"):
        allowed.add("feedback")  # langgraph-api's feedback URLs, sent when asked for
    for mode in modes:
        allowed |= EVENT_NAMES_OF_MODE.get(mode, frozenset())
    for view in context.events:
        if view.base_name not in allowed:
            yield Violation(
                "modes.requested-only",
                f"event {view.name!r} belongs to no requested stream mode "
                f"({', '.join(sorted(modes))})",
                event_index=view.index,
                expected=sorted(allowed),
                actual=view.name,
            )
            return


def namespaced_only_with_subgraphs(context: StreamContext) -> Iterator[Violation]:
    if context.subgraphs_requested is not False:
        return
    for view in context.events:
        if "|" in view.name:
            yield Violation(
                "modes.namespaced-only-with-subgraphs",
                f"event {view.name!r} is namespaced but stream_subgraphs was not requested",
                event_index=view.index,
                expected=view.base_name,
                actual=view.name,
            )
            return


CHECKS = (requested_only, namespaced_only_with_subgraphs)
