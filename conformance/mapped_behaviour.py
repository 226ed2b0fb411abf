"""Behaviours a recording shows that a mapped graph may lack: when a scenario cannot be judged.

With ``--graph ours=theirs`` the target runs its own graph in place of the recorded one. A
scenario that exercises what the recorded graph does (custom events from ``get_stream_writer``,
an ``interrupt``) says nothing about the target when the mapped graph never does it: the
comparison would fail langgraph dev itself, mapped the same way. Such a scenario is NOT TESTED
(which still blocks its level), with the reason. Unmapped, nothing here applies: a target that
should produce custom events and does not fails.

A behaviour counts as shown by the target as soon as any of its answers shows it; then the
scenario is judged as usual.

Pure: no I/O.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

from conformance.sse import parse_stream
from conformance.transcript import Exchange, Transcript

SET_ASIDE_PREFIXES: tuple[str, ...] = ("replay.", "scenario.incomplete")
"""Findings that follow from the recorded graph's behaviour (the comparison with the
recording, a step that waited for a state the mapped graph never reaches): set aside, listed
but not counted, when the behaviour is missing. The rules on the target's own streams
(framing, integrity, delivery, headers, run status) keep judging it."""


def _payloads(exchange: Exchange) -> Iterator[tuple[str, Any]]:
    """(event name or "", decoded JSON) of every payload of an answer."""
    body = exchange.response.body
    if not body:
        return
    content_type = (exchange.response.header("content-type") or "").lower()
    if content_type.startswith("text/event-stream"):
        for event in parse_stream(body).events:
            try:
                yield event.event, json.loads(event.data)
            except ValueError:
                yield event.event, None
        return
    try:
        yield "", json.loads(body)
    except ValueError:
        return


def _custom_event(name: str, payload: Any) -> bool:
    return name.split("|", 1)[0] == "custom"


def _interrupt(name: str, payload: Any) -> bool:
    return _holds_interrupt(payload)


def _holds_interrupt(value: Any) -> bool:
    if isinstance(value, list):
        return any(_holds_interrupt(item) for item in value)
    if not isinstance(value, dict):
        return False
    # Not a status `interrupted`: a run interrupted by a multitask strategy reads so too,
    # and that is the server's doing, judged in every mode.
    if value.get("__interrupt__"):
        return True
    interrupts = value.get("interrupts")
    if isinstance(interrupts, list) and interrupts:
        return True
    if isinstance(interrupts, dict) and any(interrupts.values()):
        return True
    return any(_holds_interrupt(item) for item in value.values())


BEHAVIOURS: dict[str, Callable[[str, Any], bool]] = {
    "`custom` events (the graph's stream writer)": _custom_event,
    "an interrupt (`__interrupt__`, a state's `interrupts`)": _interrupt,
}
"""What a recorded graph may do that a mapped graph may not: name -> whether one payload
(event name, decoded data) shows it."""


def _shows(transcript: Transcript, detector: Callable[[str, Any], bool]) -> bool:
    return any(
        detector(name, payload)
        for exchange in transcript.exchanges
        for name, payload in _payloads(exchange)
    )


def missing_behaviours(recording: Transcript, target: Transcript) -> list[str]:
    """The behaviours ``recording`` shows and ``target`` never does, in ``BEHAVIOURS`` order."""
    return [
        name
        for name, detector in BEHAVIOURS.items()
        if _shows(recording, detector) and not _shows(target, detector)
    ]


def set_aside(rule: str) -> bool:
    """Whether a finding of ``rule`` follows from the recorded graph's behaviour."""
    return rule.startswith(SET_ASIDE_PREFIXES)
