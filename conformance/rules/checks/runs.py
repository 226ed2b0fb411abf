"""The run behind a stream, as fetched after the stream closed."""

from __future__ import annotations

from collections.abc import Iterator

from conformance.rules.context import StreamContext, Violation

TERMINAL_RUN_STATUSES: frozenset[str] = frozenset({"success", "error", "interrupted", "timeout"})


def terminal_on_close(context: StreamContext) -> Iterator[Violation]:
    status = context.source.run_status_after
    if status is None or context.source.closed_by != "server":
        return
    if status not in TERMINAL_RUN_STATUSES:
        yield Violation(
            "runs.terminal-on-close",
            f"the stream closed but its run {context.run_id!r} reads {status!r} right after",
            expected=sorted(TERMINAL_RUN_STATUSES),
            actual=status,
        )


def status_after_error(context: StreamContext) -> Iterator[Violation]:
    status = context.source.run_status_after
    error = next((view for view in context.events if view.name == "error"), None)
    if error is not None and status == "success":
        yield Violation(
            "runs.status-after-error",
            f"the stream ended with an error event but its run {context.run_id!r} reads success",
            event_index=error.index,
            expected="error",
            actual=status,
        )


CHECKS = (terminal_on_close, status_after_error)
