"""Replay comparison: a target's normalised transcript against the fixture recorded from
``langgraph dev``, exchange by exchange (matched by step name).

For each exchange, in this order, the FIRST divergence becomes a finding:

1. ``replay.status``: the status code;
2. ``replay.header``: the protocol-relevant headers (``PROTOCOL_HEADERS``; not server, date,
   content-length or transfer-encoding), content type and cache-control compared parsed;
3. ``replay.event-order`` (streams): the event names, in order;
4. ``replay.shape``: the payloads' shape: keys, JSON types, nesting, list lengths, and
   whether each event has an ``id:``;
5. ``replay.value`` (only with ``compare_values=True``): the values themselves.

A step the fixture has and the target's transcript lacks is ``replay.missing-step``. An
``end`` event is left out of the comparison (the rule ``stream.end-event`` judges it).

Placeholders (``conformance.normalise``) are compared as identities, not as numbers: the
first time fixture ``<uuid:3>`` meets target ``<uuid:7>`` binds them, for the whole
transcript, and a later mismatch of either is a divergence. A null id on one side matches
any id on the other (langgraph dev is not consistent with itself there).

A key the target sends that ``langgraph dev`` does not is a SHOULD finding (clients ignore
extra keys); comparison then goes on to find the first MUST divergence of that exchange.

With ``compare_values=False`` (a live LLM, or graphs mapped to the target's own), the
comparisons listed in ``RELAXATIONS`` are relaxed, and each finding's message says so.

Pure: no I/O, never raises.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlsplit

from conformance.findings import Finding, Severity
from conformance.normalise import placeholder_tokens
from conformance.rules.catalog import ENGINE_ERROR_RULE
from conformance.sse import SSEEvent, parse_stream
from conformance.transcript import Exchange, RecordedResponse, Transcript

PROTOCOL_HEADERS: tuple[str, ...] = (
    "content-type",
    "location",
    "content-location",
    "cache-control",
    "x-accel-buffering",
    "x-pagination-total",
    "x-pagination-next",
)
"""The response headers clients read; compared when the fixture has them."""

COLLAPSIBLE_EVENTS: frozenset[str] = frozenset({"messages/partial", "messages", "events"})
"""Events whose number follows the model's chunking (also with a ``|namespace``)."""

MODEL_DEPENDENT_KEYS: frozenset[str] = frozenset(
    {
        "additional_kwargs",
        "response_metadata",
        "usage_metadata",
        "args",
        "invalid_tool_calls",
    }
)
"""Keys whose content a real model decides (provider extras, usage, tool arguments): with
``compare_values=False`` only their type is compared, not what is inside."""

RELAXATIONS: tuple[str, ...] = (
    "values not compared (only event names, order and payload shapes)",
    "consecutive runs of messages/partial, messages and events events collapsed to one "
    "(their number follows the model's chunking), the first of each run compared",
    "list lengths not compared (lists compared element by element up to the shorter)",
    "inside model-dependent keys (" + ", ".join(sorted(MODEL_DEPENDENT_KEYS)) + ") only the "
    "type compared",
)
"""What ``compare_values=False`` relaxes, for reports."""

REPLAY_RULES: dict[str, str] = {
    "replay.missing-step": "the target's transcript lacks a step the fixture has",
    "replay.status": "the status code differs from langgraph dev's",
    "replay.header": "a protocol-relevant response header differs from langgraph dev's",
    "replay.event-order": "the stream's event names or their order differ from langgraph dev's",
    "replay.shape": "a payload's shape (keys, types, nesting, lengths) differs from langgraph "
    "dev's",
    "replay.value": "a payload value differs from langgraph dev's",
}

ERROR_FREE_TEXT: frozenset[str] = frozenset({"/detail"})
"""Pointers in a 4xx/5xx JSON body whose text is for people: compared by type only. Clients
branch on the status, never on the wording, and langgraph dev's wording is a jsonschema dump
(``Failed validating "anyOf" in schema[...]``) that no other server could reproduce."""

_MISSING = object()


@dataclass(frozen=True, slots=True)
class Divergence:
    rule: str
    message: str
    pointer: str = ""
    expected: Any = None
    actual: Any = None
    severity: Severity = Severity.MUST
    event_index: int | None = None


@dataclass(slots=True)
class _Identities:
    """The bijection between fixture and target placeholders, per kind."""

    forward: dict[tuple[str, int], int] = field(default_factory=dict)
    backward: dict[tuple[str, int], int] = field(default_factory=dict)

    def strings_match(self, expected: str, actual: str) -> bool:
        """Whether two normalised strings are the same up to placeholder identities; binds
        new pairs only when the whole string matches."""
        expected_tokens = placeholder_tokens(expected)
        actual_tokens = placeholder_tokens(actual)
        if len(expected_tokens) != len(actual_tokens):
            return False
        pending: dict[tuple[str, int], int] = {}
        for mine, theirs in zip(expected_tokens, actual_tokens, strict=True):
            if isinstance(mine, str) or isinstance(theirs, str):
                if mine != theirs:
                    return False
                continue
            if mine[0] != theirs[0]:
                return False
            if mine[1] is None or theirs[1] is None:
                if mine[1] != theirs[1]:
                    return False
                continue
            key, value = (mine[0], mine[1]), theirs[1]
            bound = self.forward.get(key, pending.get(key))
            back = self.backward.get((theirs[0], value))
            if bound is not None and bound != value:
                return False
            if back is not None and back != mine[1]:
                return False
            pending[key] = value
        for (kind, number), value in pending.items():
            self.forward[(kind, number)] = value
            self.backward[(kind, value)] = number
        return True


# --- values and shapes -------------------------------------------------------------------------


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _escape(segment: str) -> str:
    return segment.replace("~", "~0").replace("/", "~1")


def _is_id_key(pointer: str) -> bool:
    last = pointer.rsplit("/", 1)[-1]
    return last == "id" or last.endswith("_id")


def _null_id(expected: Any, actual: Any, pointer: str) -> bool:
    """A null id on one side and a string on the other: langgraph dev itself does both."""
    if not _is_id_key(pointer):
        return False
    return (expected is None and isinstance(actual, str)) or (
        actual is None and isinstance(expected, str)
    )


def _shape(expected: Any, actual: Any, pointer: str, *, strict: bool) -> Iterator[Divergence]:
    """Shape divergences in document order; SHOULD ones (extra keys) do not stop the walk."""
    if _null_id(expected, actual, pointer):
        return
    if _kind(expected) != _kind(actual):
        yield Divergence(
            "replay.shape",
            f"{_kind(actual)} where langgraph dev has {_kind(expected)}",
            pointer,
            _summary(expected),
            _summary(actual),
        )
        return
    if not strict and pointer.rsplit("/", 1)[-1] in MODEL_DEPENDENT_KEYS:
        return
    if isinstance(expected, dict):
        for key, item in expected.items():
            child = f"{pointer}/{_escape(key)}"
            if key not in actual:
                yield Divergence(
                    "replay.shape", f"key {key!r} is missing", child, _summary(item), None
                )
                return
            yield from _shape(item, actual[key], child, strict=strict)
        for key in actual:
            if key not in expected:
                yield Divergence(
                    "replay.shape",
                    f"key {key!r} is not sent by langgraph dev",
                    f"{pointer}/{_escape(key)}",
                    None,
                    _summary(actual[key]),
                    severity=Severity.SHOULD,
                )
    elif isinstance(expected, list):
        if strict and len(expected) != len(actual):
            yield Divergence(
                "replay.shape",
                f"{len(actual)} item(s) where langgraph dev has {len(expected)}",
                pointer,
                len(expected),
                len(actual),
            )
            return
        for position, (mine, theirs) in enumerate(zip(expected, actual, strict=False)):
            yield from _shape(mine, theirs, f"{pointer}/{position}", strict=strict)


def _values(
    expected: Any,
    actual: Any,
    pointer: str,
    identities: _Identities,
    free_text: frozenset[str] = frozenset(),
) -> Divergence | None:
    """The first value divergence of two values of the same shape."""
    if _null_id(expected, actual, pointer):
        return None
    if pointer in free_text and isinstance(expected, str) and isinstance(actual, str):
        return None
    if isinstance(expected, dict) and isinstance(actual, dict):
        for key, item in expected.items():
            if key in actual:
                found = _values(
                    item, actual[key], f"{pointer}/{_escape(key)}", identities, free_text
                )
                if found:
                    return found
        return None
    if isinstance(expected, list) and isinstance(actual, list):
        for position, (mine, theirs) in enumerate(zip(expected, actual, strict=False)):
            found = _values(mine, theirs, f"{pointer}/{position}", identities, free_text)
            if found:
                return found
        return None
    if isinstance(expected, str) and isinstance(actual, str):
        if identities.strings_match(expected, actual):
            return None
    elif _kind(expected) == _kind(actual) and expected == actual:
        return None
    return Divergence(
        "replay.value", "the value differs", pointer, _summary(expected), _summary(actual)
    )


def _summary(value: Any) -> Any:
    """Small values as they are; big ones cut, so a finding stays readable."""
    if value is _MISSING:
        return None
    text = json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    return value if len(text) <= 300 else text[:300] + "..."


def _first_shape(expected: Any, actual: Any, *, strict: bool) -> list[Divergence]:
    """The first SHOULD divergence (if it comes first) and the first MUST one."""
    found: list[Divergence] = []
    for divergence in _shape(expected, actual, "", strict=strict):
        if divergence.severity is Severity.MUST:
            found.append(divergence)
            break
        if not found:
            found.append(divergence)
    return found


# --- headers -----------------------------------------------------------------------------------


def _header_value(name: str, value: str) -> str:
    if name == "content-type":
        kind, *parameters = value.split(";")
        normalised = sorted(p.strip().lower().replace('"', "") for p in parameters if p.strip())
        return "; ".join([kind.strip().lower(), *normalised])
    if name == "cache-control":
        return ", ".join(sorted(part.strip().lower() for part in value.split(",") if part.strip()))
    if name == "x-accel-buffering":
        return value.strip().lower()
    return value.strip()


def _headers(
    expected: RecordedResponse, actual: RecordedResponse, identities: _Identities
) -> Divergence | None:
    for name in PROTOCOL_HEADERS:
        mine, theirs = _header(expected, name), _header(actual, name)
        if mine is None:
            continue
        if theirs is None:
            return Divergence(
                "replay.header", f"header {name} is missing", expected=mine, actual=None
            )
        if not identities.strings_match(_header_value(name, mine), _header_value(name, theirs)):
            return Divergence(
                "replay.header", f"header {name} differs", expected=mine, actual=theirs
            )
    return None


def _header(response: RecordedResponse, name: str) -> str | None:
    for key, value in response.headers:
        if key.lower() == name:
            return value
    return None


# --- bodies ------------------------------------------------------------------------------------


def _is_stream(exchange: Exchange) -> bool:
    content_type = (_header(exchange.response, "content-type") or "").lower()
    path = urlsplit(exchange.request.path).path
    return content_type.startswith("text/event-stream") or path.endswith("/stream")


def _decoded(data: str) -> Any:
    try:
        return json.loads(data)
    except ValueError:
        return _MISSING


def _base(name: str) -> str:
    return name.split("|", 1)[0]


def _runs(events: tuple[SSEEvent, ...], collapse: bool) -> list[SSEEvent]:
    """The events, each run of one collapsible name reduced to its first when ``collapse``."""
    kept: list[SSEEvent] = []
    for event in events:
        if (
            collapse
            and kept
            and kept[-1].event == event.event
            and _base(event.event) in COLLAPSIBLE_EVENTS
        ):
            continue
        kept.append(event)
    return kept


def _without_end(events: tuple[SSEEvent, ...]) -> tuple[SSEEvent, ...]:
    # An end event is legal (the SDKs accept it) and judged by the rule stream.end-event
    # alone: langgraph dev sends none, so it is left out of the replay comparison.
    return tuple(event for event in events if event.event != "end")


def _relaxed_note(compare_values: bool) -> str:
    return "" if compare_values else " [relaxed: values not compared, chunk runs collapsed]"


def _stream_body(
    expected: RecordedResponse,
    actual: RecordedResponse,
    identities: _Identities,
    compare_values: bool,
) -> list[Divergence]:
    mine = _runs(_without_end(parse_stream(expected.body).events), collapse=not compare_values)
    theirs = _runs(_without_end(parse_stream(actual.body).events), collapse=not compare_values)
    if expected.closed_by != "server" or actual.closed_by != "server":
        # A client that hangs up after N events may have read a few more in its last network
        # read: only what both sides surely saw is comparable.
        common = min(len(mine), len(theirs))
        mine, theirs = mine[:common], theirs[:common]
    for position in range(max(len(mine), len(theirs))):
        expected_name = mine[position].event if position < len(mine) else None
        actual_name = theirs[position].event if position < len(theirs) else None
        if expected_name != actual_name:
            index = theirs[position].index if position < len(theirs) else len(theirs)
            if actual_name is None:
                message = f"the stream ends where langgraph dev sends {expected_name!r}"
            elif expected_name is None:
                message = f"event {actual_name!r} where langgraph dev's stream has ended"
            else:
                message = f"event {actual_name!r} where langgraph dev sends {expected_name!r}"
            return [
                Divergence(
                    "replay.event-order",
                    message,
                    expected=[event.event for event in mine],
                    actual=[event.event for event in theirs],
                    event_index=index,
                )
            ]
    pairs = list(zip(mine, theirs, strict=True))
    found: list[Divergence] = []
    for first, second in pairs:
        if (first.id is None) != (second.id is None):
            return [
                *found,
                Divergence(
                    "replay.shape",
                    "the event has no id: field"
                    if second.id is None
                    else "the event has an id: field langgraph dev does not send",
                    expected=first.id,
                    actual=second.id,
                    event_index=second.index,
                ),
            ]
        shape = _payload_shape(first.data, second.data, strict=compare_values)
        for divergence in shape:
            located = replace(divergence, event_index=second.index)
            if divergence.severity is Severity.MUST:
                return [*found, located]
            if not found:
                found.append(located)
    if not compare_values:
        return found
    for first, second in pairs:
        value = _payload_values(first.data, second.data, identities)
        if value:
            return [*found, replace(value, event_index=second.index)]
    return found


def _payload_shape(expected: str, actual: str, *, strict: bool) -> list[Divergence]:
    mine, theirs = _decoded(expected), _decoded(actual)
    if mine is _MISSING or theirs is _MISSING:
        if (mine is _MISSING) != (theirs is _MISSING):
            return [
                Divergence(
                    "replay.shape",
                    "not JSON" if theirs is _MISSING else "JSON where langgraph dev sends text",
                    expected=expected[:300],
                    actual=actual[:300],
                )
            ]
        return []
    return _first_shape(mine, theirs, strict=strict)


def _payload_values(
    expected: str,
    actual: str,
    identities: _Identities,
    free_text: frozenset[str] = frozenset(),
) -> Divergence | None:
    mine, theirs = _decoded(expected), _decoded(actual)
    if mine is _MISSING or theirs is _MISSING:
        if identities.strings_match(expected, actual):
            return None
        return Divergence("replay.value", "the text differs", "", expected[:300], actual[:300])
    return _values(mine, theirs, "", identities, free_text)


def _plain_body(
    expected: RecordedResponse,
    actual: RecordedResponse,
    identities: _Identities,
    compare_values: bool,
) -> list[Divergence]:
    mine_text = expected.body.decode("utf-8", errors="replace")
    theirs_text = actual.body.decode("utf-8", errors="replace")
    if not mine_text.strip() or not theirs_text.strip():
        if bool(mine_text.strip()) != bool(theirs_text.strip()):
            return [
                Divergence(
                    "replay.shape",
                    "the body is empty"
                    if not theirs_text.strip()
                    else "a body where langgraph dev sends none",
                    expected=mine_text[:300],
                    actual=theirs_text[:300],
                )
            ]
        return []
    found = _payload_shape(mine_text, theirs_text, strict=compare_values)
    if any(divergence.severity is Severity.MUST for divergence in found) or not compare_values:
        return found
    free_text = ERROR_FREE_TEXT if expected.status >= 400 else frozenset()
    divergence = _payload_values(mine_text, theirs_text, identities, free_text)
    return [*found, divergence] if divergence else found


# --- exchanges ---------------------------------------------------------------------------------


def _exchange(
    expected: Exchange, actual: Exchange, identities: _Identities, compare_values: bool
) -> list[Divergence]:
    if expected.response.status != actual.response.status:
        return [
            Divergence(
                "replay.status",
                f"status {actual.response.status} where langgraph dev answers "
                f"{expected.response.status}",
                expected=expected.response.status,
                actual=actual.response.status,
            )
        ]
    header = _headers(expected.response, actual.response, identities)
    if header:
        return [header]
    if _is_stream(expected) and 200 <= expected.response.status < 300:
        return _stream_body(expected.response, actual.response, identities, compare_values)
    return _plain_body(expected.response, actual.response, identities, compare_values)


def _finding(divergence: Divergence, scenario: str, step: str, compare_values: bool) -> Finding:
    note = _relaxed_note(compare_values) if divergence.rule != "replay.status" else ""
    return Finding(
        rule=divergence.rule,
        severity=divergence.severity,
        message=divergence.message + note,
        scenario=scenario,
        step=step,
        event_index=divergence.event_index,
        pointer=divergence.pointer,
        expected=divergence.expected,
        actual=divergence.actual,
    )


def compare(
    expected: Transcript, actual: Transcript, *, compare_values: bool = True
) -> list[Finding]:
    """Findings for where ``actual`` (the target, normalised) departs from ``expected`` (the
    fixture, normalised): at most the first divergence per exchange (plus a SHOULD one before
    it). Never raises."""
    identities = _Identities()
    scenario = expected.scenario or actual.scenario
    by_step = {exchange.step: exchange for exchange in actual.exchanges}
    findings: list[Finding] = []
    for exchange in expected.exchanges:
        theirs = by_step.get(exchange.step)
        if theirs is None:
            findings.append(
                Finding(
                    rule="replay.missing-step",
                    severity=Severity.MUST,
                    message=f"the target's transcript has no step {exchange.step!r}",
                    scenario=scenario,
                    step=exchange.step,
                )
            )
            continue
        try:
            divergences = _exchange(exchange, theirs, identities, compare_values)
        except Exception as error:  # never raise: say the comparison itself failed
            divergences = [
                Divergence(
                    ENGINE_ERROR_RULE,
                    f"the suite could not compare this exchange: {type(error).__name__}: {error}",
                )
            ]
        findings += [
            _finding(divergence, scenario, exchange.step, compare_values)
            for divergence in divergences
        ]
    return findings
