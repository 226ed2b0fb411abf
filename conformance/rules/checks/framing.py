"""Framing: what the strict SSE parser noticed, data that is not JSON, an ``end`` event."""

from __future__ import annotations

from collections.abc import Iterator

from conformance.rules.catalog import KEEPALIVE_LIMIT_MS
from conformance.rules.context import StreamContext, Violation
from conformance.sse.parser import DiagnosticCode

# Parser diagnostics that are legal SSE (a BOM, unknown fields) or the suite's own doing
# (data after close) raise no finding: "a false positive is worse than a false negative".
_RULE_OF_DIAGNOSTIC: dict[DiagnosticCode, str] = {
    DiagnosticCode.INVALID_UTF8: "framing.utf8",
    DiagnosticCode.EVENT_WITHOUT_DATA: "framing.event-without-data",
    DiagnosticCode.ID_WITH_NUL: "framing.id-without-nul",
    DiagnosticCode.INVALID_RETRY: "framing.retry-digits",
    DiagnosticCode.UNTERMINATED_EVENT: "framing.terminated",
}


def _event_index_at(context: StreamContext, offset: int) -> int:
    """The index the next event dispatched at or after ``offset`` has (or would have had)."""
    for view in context.events:
        if view.event.offset + len(view.event.raw) > offset:
            return view.index
    return len(context.events)


def parser_diagnostics(context: StreamContext) -> Iterator[Violation]:
    for diagnostic in context.parsed.diagnostics:
        rule = _RULE_OF_DIAGNOSTIC.get(diagnostic.code)
        if rule is None:
            continue
        if diagnostic.code is DiagnosticCode.UNTERMINATED_EVENT and not context.ended_by_server:
            # The client hung up mid-event (on purpose, or it gave up), or the connection broke
            # (stream.intact says so): not a stream the server ended mid-event.
            continue
        yield Violation(
            rule,
            f"{diagnostic.message} (byte {diagnostic.offset})",
            event_index=_event_index_at(context, diagnostic.offset),
        )


def data_is_json(context: StreamContext) -> Iterator[Violation]:
    for view in context.events:
        if not view.is_json:
            yield Violation(
                "stream.data-json",
                f"the data of event {view.name!r} is not JSON",
                event_index=view.index,
                actual=view.event.data[:200],
            )


def no_end_event(context: StreamContext) -> Iterator[Violation]:
    for view in context.events:
        if view.name == "end":
            yield Violation(
                "stream.end-event",
                "the stream sends an end event (langgraph dev closes the stream instead)",
                event_index=view.index,
            )


def keepalive(context: StreamContext) -> Iterator[Violation]:
    previous = 0.0
    for time_ms in context.source.chunk_times_ms:
        if time_ms - previous > KEEPALIVE_LIMIT_MS:
            yield Violation(
                "framing.keepalive",
                f"the stream was silent for {(time_ms - previous) / 1000:.1f} s "
                f"(from {previous / 1000:.1f} s to {time_ms / 1000:.1f} s after the request)",
                expected=f"<= {KEEPALIVE_LIMIT_MS} ms",
                actual=round(time_ms - previous),
            )
            return
        previous = time_ms


CHECKS = (parser_diagnostics, data_is_json, no_end_event, keepalive)
