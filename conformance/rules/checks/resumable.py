"""Resumable streams: every event has an id, ids move forward, replays start after the id."""

from __future__ import annotations

import re
from collections.abc import Iterator

from conformance.rules.context import StreamContext, Violation

_EPOCH_SEQUENCE = re.compile(r"(?P<first>[0-9]+)-(?P<second>[0-9]+)")
_NUMBER = re.compile(r"[0-9]+")


def id_order_key(value: str) -> tuple[int, ...] | None:
    """An id's place in order, for the forms servers use (``<epoch_ms>-<seq>``, a number);
    None for an opaque id, whose order cannot be judged."""
    match = _EPOCH_SEQUENCE.fullmatch(value)
    if match:
        return (int(match.group("first")), int(match.group("second")))
    if _NUMBER.fullmatch(value):
        return (int(value),)
    return None


def _comparable(first: tuple[int, ...] | None, second: tuple[int, ...] | None) -> bool:
    return first is not None and second is not None and len(first) == len(second)


def event_ids(context: StreamContext) -> Iterator[Violation]:
    if not context.resumable:
        return
    previous: tuple[str, tuple[int, ...] | None] | None = None
    missing_reported = backwards_reported = repeat_reported = False
    seen: set[str] = set()
    for view in context.events:
        if view.name == "end":
            continue  # judged by stream.end-event alone; a closing marker needs no id
        event_id = view.event.id
        if not event_id:
            if not missing_reported:
                missing_reported = True
                yield Violation(
                    "resumable.event-ids",
                    f"event {view.name!r} of a resumable stream has no id",
                    event_index=view.index,
                )
            continue
        key = id_order_key(event_id)
        if previous is not None and _comparable(previous[1], key):
            assert previous[1] is not None and key is not None
            if key < previous[1] and not backwards_reported:
                backwards_reported = True
                yield Violation(
                    "resumable.event-ids",
                    f"id {event_id!r} comes before the previous id {previous[0]!r}",
                    event_index=view.index,
                    expected=f"> {previous[0]}",
                    actual=event_id,
                )
        if event_id in seen and not repeat_reported:
            repeat_reported = True
            yield Violation(
                "resumable.event-ids-increasing",
                f"id {event_id!r} repeats an earlier id",
                event_index=view.index,
                actual=event_id,
            )
        seen.add(event_id)
        previous = (event_id, key)


def replay_after_last_event_id(context: StreamContext) -> Iterator[Violation]:
    sent = context.last_event_id_sent
    if sent is None or sent.strip() in ("", "-1"):
        return
    sent_key = id_order_key(sent.strip())
    for view in context.events:
        event_id = view.event.id
        if not event_id:
            continue
        key = id_order_key(event_id)
        if _comparable(sent_key, key) and key is not None and sent_key is not None:
            if key <= sent_key:
                yield Violation(
                    "resumable.replay-after-last-event-id",
                    f"the rejoin sent Last-Event-ID {sent!r} but was replayed {event_id!r}",
                    event_index=view.index,
                    expected=f"> {sent}",
                    actual=event_id,
                )
                return
        elif event_id == sent.strip():
            yield Violation(
                "resumable.replay-after-last-event-id",
                f"the rejoin sent Last-Event-ID {sent!r} and got that event again",
                event_index=view.index,
                actual=event_id,
            )
            return


CHECKS = (event_ids, replay_after_last_event_id)
