"""A stream's life: metadata first, nothing after an error, the error's shape."""

from __future__ import annotations

from collections.abc import Iterator

from conformance.rules.context import StreamContext, Violation


def metadata_first(context: StreamContext) -> Iterator[Violation]:
    if not context.creates_run:
        return  # a join replays from where the client asks: no metadata promised
    if not context.events:
        if context.ended_by_server:
            yield Violation(
                "stream.metadata-first",
                "the stream of a new run closed without any event",
                event_index=0,
                expected="metadata",
            )
        return
    first = context.events[0]
    if first.name != "metadata":
        yield Violation(
            "stream.metadata-first",
            f"the first event is {first.name!r}, not metadata",
            event_index=0,
            expected="metadata",
            actual=first.name,
        )
        return
    payload = first.payload
    if not isinstance(payload, dict) or not isinstance(payload.get("run_id"), str):
        yield Violation(
            "stream.metadata-first",
            "the metadata event has no run_id string",
            event_index=0,
            pointer="/run_id",
            actual=payload if first.is_json else first.event.data[:200],
        )
        return
    attempt = payload.get("attempt")
    if isinstance(attempt, bool) or not isinstance(attempt, int) or attempt < 1:
        yield Violation(
            "stream.metadata-attempt",
            f"the metadata event's attempt is {attempt!r}, not a positive integer",
            event_index=0,
            pointer="/attempt",
            expected=1,
            actual=attempt,
        )


def stream_ends(context: StreamContext) -> Iterator[Violation]:
    # The client gives up only after its step timeout: whatever the stream sent by then, it
    # did not end, so a client waiting for the close would hang.
    if context.source.closed_by == "timeout":
        yield Violation(
            "stream.ends",
            f"the stream did not end: the client gave up waiting after {len(context.events)} "
            "event(s)",
            event_index=len(context.events),
            expected="the stream closes when the run is terminal",
            actual="still open",
        )


def stream_intact(context: StreamContext) -> Iterator[Violation]:
    if context.broken:
        yield Violation(
            "stream.intact",
            f"the connection failed after {len(context.events)} event(s) "
            f"({len(b''.join(context.source.chunks))} bytes): the stream was cut short, so what "
            "arrived is only its beginning",
            event_index=len(context.events),
            expected="the server ends the body cleanly",
            actual="connection broken",
        )


def nothing_after_error(context: StreamContext) -> Iterator[Violation]:
    error_index = next((view.index for view in context.events if view.name == "error"), None)
    if error_index is None:
        return
    for view in context.events[error_index + 1 :]:
        if view.name != "end":  # an end event is judged by stream.end-event alone
            yield Violation(
                "stream.nothing-after-error",
                f"event {view.name!r} follows the error event {error_index}",
                event_index=view.index,
            )
            return


def error_payload(context: StreamContext) -> Iterator[Violation]:
    for view in context.events:
        if view.name != "error":
            continue
        payload = view.payload
        if not isinstance(payload, dict):
            yield Violation(
                "stream.error-payload",
                "the error event's data is not a JSON object",
                event_index=view.index,
                expected={"error": "<str>", "message": "<str>"},
                actual=payload if view.is_json else view.event.data[:200],
            )
            continue
        for key in ("error", "message"):
            if not isinstance(payload.get(key), str):
                yield Violation(
                    "stream.error-payload",
                    f"the error event's {key!r} is "
                    + ("missing" if key not in payload else f"{payload[key]!r}, not a string"),
                    event_index=view.index,
                    pointer=f"/{key}",
                    expected="<str>",
                    actual=payload.get(key),
                )
                break


CHECKS = (metadata_first, stream_intact, stream_ends, nothing_after_error, error_payload)
