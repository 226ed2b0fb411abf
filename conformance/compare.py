"""Replay comparison: a target's normalised transcript against the fixture recorded from
``langgraph dev``, exchange by exchange (matched by step name).

Every divergence of an exchange is reported, grouped per rule and capped (``MAX_PER_RULE``
per rule and exchange, then one line saying how many more), so nothing hides behind the first:

1. ``replay.status``: the status code (with method, path and the target's body); the body of
   an answer with another status is not compared further; a CORS preflight (OPTIONS) only
   as 2xx or not, its headers being the cors rules' business;
2. ``replay.header``: the protocol headers (``conformance.contract.HEADERS``), content type
   and cache-control compared parsed; a protocol header sent twice is a finding too;
3. ``replay.event-order`` (streams): the event names, in order;
4. ``replay.shape``: the payloads' shape: keys, JSON types, nesting, list lengths, and
   whether each event has an ``id:``;
5. ``replay.value``: the values themselves;
6. ``replay.end-event``: an ``end`` event's payload, when the target sends one, must agree
   with how the run ended (``{"status": "success"}`` after an ``error`` event is a finding).

A step the fixture has and the target's transcript lacks is ``replay.missing-step``.

Severity follows the client contract (``conformance.contract``): a divergence at a key an SDK
reads or declares is a MUST; at a key only ``langgraph dev`` sends, a SHOULD; a key the
target adds is a SHOULD.

Placeholders (``conformance.normalise``) are compared as identities: the first time fixture
``<uuid:3>`` meets target ``<uuid:7>`` binds them for the whole transcript; ids are opaque,
so a uuid, a 32-hex id or another opaque id of the target all stand for "an id". Object keys
that are ids are paired by where they stand, not by number. A null id is accepted only at
the paths where ``langgraph dev`` itself sends null (``NULL_ID_PATHS``).

Relaxations (``Relax``) are named modes, each relaxing only what depends on one thing:

- ``Relax.GRAPH`` (``--graph``: the target runs its own graph): the sequence and number of
  events of a run stream, state contents (values, next, tasks, checkpoint metadata and
  ids), run outputs, list lengths, graph schemas and drawings, the assistant's config;
- ``Relax.MODEL`` (a live model): the sequence and number of events of a run stream, state
  contents, run outputs, list lengths, and inside messages what the model decides (usage,
  provider extras, tool arguments; ``usage_metadata`` object or null; ``content`` a string
  or blocks).

Statuses, error shapes, headers, the run and thread lifecycle values, the store and
resumability stay compared in every mode. ``RELAXATIONS`` describes each mode for reports.

Pure: no I/O, never raises.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from conformance.contract import (
    ASSISTANT,
    CONTENT,
    HEADERS,
    MESSAGE,
    ListOf,
    Schema,
    Shape,
    event_schema,
    missing_key_severity,
    route_schema,
    schema_at,
    severity_at,
)
from conformance.findings import Finding, Severity
from conformance.normalise import placeholder_tokens
from conformance.rules.catalog import ENGINE_ERROR_RULE
from conformance.rules.engine import is_stream
from conformance.sse import SSEEvent, parse_stream
from conformance.transcript import Exchange, RecordedResponse, Transcript

PROTOCOL_HEADERS: tuple[str, ...] = tuple(HEADERS)
"""The response headers compared when the fixture has them."""


class Relax(StrEnum):
    GRAPH = "mapped graph"
    MODEL = "live model"


RELAXATIONS: Mapping[Relax, tuple[str, ...]] = {
    Relax.GRAPH: (
        "run streams: the number and order of events follow the graph, so each event is "
        "compared with a recorded event of the same name; the first event, the event kinds "
        "and whether the run ends in error are compared",
        "state contents (values, next, tasks, checkpoint metadata and ids) and run outputs: "
        "shapes of what both sides have, no values",
        "list lengths (the first and last items compared)",
        "graph schemas, drawings and subgraphs; the assistant's config and context",
        "inside messages: usage_metadata, response_metadata, additional_kwargs and tool "
        "arguments by type only (the prompt is the graph's: its system prompt, tools and "
        "history decide the token counts the model reports)",
    ),
    Relax.MODEL: (
        "run streams: the number and order of events follow the model (tool calls or not, "
        "turns, chunking), so each event is compared with a recorded event of the same name; "
        "the first event, the event kinds and whether the run ends in error are compared",
        "state contents and run outputs: shapes of what both sides have, no values",
        "list lengths (the first and last items compared)",
        "inside messages: usage_metadata (object or null), response_metadata, "
        "additional_kwargs, tool arguments by type only; content a string or a list",
    ),
}
"""What each mode relaxes, for reports. Everything else is compared as in the exact mode."""

MODEL_DEPENDENT_KEYS: frozenset[str] = frozenset(
    {
        "additional_kwargs",
        "response_metadata",
        "usage_metadata",
        "args",
        "invalid_tool_calls",
    }
)
"""Keys whose content the model decides, from a prompt the graph makes: in either relaxed
mode only their type (and with ``Relax.MODEL``, for ``usage_metadata`` not even that: object or
null) is compared."""

NULL_ID_PATHS: tuple[re.Pattern[str], ...] = tuple(
    re.compile(pattern)
    for pattern in (
        # fixtures/thread_state_update.json, threads_crud.json, cancel_rollback.json,
        # thread_runs_wait.json: the first checkpoint has no parent; an empty thread's state
        # has no checkpoint id.
        r"^(?:/[0-9]+)?/parent_checkpoint_id$",
        r"^(?:/[0-9]+)?/checkpoint_id$",
        r"^(?:/[0-9]+)?/(?:parent_)?checkpoint/checkpoint_id$",
        # fixtures/stream_messages_tuple_tool_call.json, stream_mode_list_tool_call.json,
        # stream_events_tool_call.json: a tool call's continuation chunks carry no id.
        r"/(?:tool_call_chunks|invalid_tool_calls|tool_calls)/[0-9]+/id$",
    )
)
"""JSON pointers where ``langgraph dev`` itself sends a null id: there, null and an id match.
Everywhere else a null id where the recording has one is a finding."""

MODEL_NULL_ID_PATHS: tuple[re.Pattern[str], ...] = (
    # A tool node's message: langgraph dev sends "id": null for each of two tool calls the
    # model made in one turn (fixtures/react_agent_updates.json) and a uuid for a single call
    # (observed with a live model): how many calls is the model's choice.
    re.compile(r"/messages/[0-9]+/id$"),
)
"""With ``Relax.MODEL``, pointers where null and an id both follow the model's path."""

REPLAY_RULES: dict[str, str] = {
    "replay.missing-step": "the target's transcript lacks a step the fixture has",
    "replay.status": "the status code differs from langgraph dev's",
    "replay.header": "a protocol-relevant response header differs from langgraph dev's, or "
    "is sent twice",
    "replay.event-order": "the stream's event names or their order differ from langgraph dev's",
    "replay.shape": "a payload's shape (keys, types, nesting, lengths) differs from langgraph "
    "dev's",
    "replay.value": "a payload value differs from langgraph dev's",
    "replay.end-event": "an end event's payload contradicts how the run ended",
}

PATH_DEPENDENT_EVENTS: frozenset[str] = frozenset({"messages/complete"})
"""Event kinds that only some paths produce (a message that was not streamed token by
token: a tool's result): in relaxed modes their absence is not a finding."""

MAX_PER_RULE = 5
"""Divergences of one rule reported per exchange; the rest are counted in one more finding."""

ERROR_FREE_TEXT: frozenset[str] = frozenset({"/detail"})
"""Pointers in a 4xx/5xx JSON body whose text is for people: compared by type only. Clients
branch on the status, never on the wording, and langgraph dev's wording is a jsonschema dump
(``Failed validating "anyOf" in schema[...]``) that no other server could reproduce."""

ERROR_EVENT_TEXT: frozenset[str] = frozenset({"/error", "/message"})
"""Pointers of a run's error (an ``error`` event's payload) whose text is the server's: the
exception's class name and its message. Compared by type only: js:dist/utils/stream.js makes
them a ``StreamError``'s name and message, for people; no SDK branches on them, and the class
is the server's own Python type (langgraph dev: ``OpenAIAPIError``; Aegra: ``Error``)."""

OUTPUT_ERROR_TEXT: frozenset[str] = frozenset({"/__error__/error", "/__error__/message"})
"""The same two texts in the output of a failed run (``runs/wait``, ``join``)."""

SERVER_DEFAULTS: frozenset[str] = frozenset({"name", "description"})
"""Assistant keys whose value the server chooses when the client sends none: compared by
type only unless the request set them; ``description`` may be null or a string (it is
``str | None`` in py:langgraph_sdk/schema.py and optional in js:dist/schema.d.ts)."""

NULLABLE_DEFAULTS: frozenset[str] = frozenset({"description"})
"""Of ``SERVER_DEFAULTS``, those null or a string alike (``name`` is ``str``: null is a finding)."""

UNORDERED_LISTS: Mapping[str, str] = {"/store/items/search": "/items"}
"""Lists whose order the protocol leaves to the server, by route: a store search without a
``query`` (no score to sort by). py:langgraph_sdk/_async/store.py ``search_items`` documents
no order, and langgraph's own stores differ (the in-memory store lists in insertion order,
the Postgres store newest update first). Their items are paired by namespace and key; another
order alone is a SHOULD."""

_ID_KINDS = frozenset({"uuid", "hex", "id"})
_MISSING = object()

_DEPENDENT_BODY_KEYS = frozenset({"values", "next", "tasks", "interrupts"})
"""Keys of a state (thread, thread state, history entry) whose contents a graph or a model
decides."""
_EVENT_DEPENDENT: Mapping[str, str] = {
    "values": r"^/(?!messages(?:/|$))",
    "updates": r"^/[^/]+/(?!messages(?:/|$))",
    "custom": r"",
    "events": r"^/(?:data|metadata|name|tags|parent_ids)(?:/|$)",
    "checkpoints": r"^/(?:values|next|tasks|metadata|config|parent_config)(?:/|$)",
    "tasks": r"^/(?:input|result|triggers|interrupts|error)(?:/|$)",
    "debug": r"^/payload/(?:values|next|tasks|metadata|config|parent_config|input|result"
    r"|triggers|interrupts|error)(?:/|$)",
    "messages": r"^/1(?:/|$)",
    "messages/metadata": r"^/[^/]+/metadata(?:/|$)",
}
"""In a relaxed run stream, what inside each event's payload the graph or the model decides
(state keys, node outputs, a message's run metadata); the envelope stays compared."""
_GRAPH_ONLY_ROUTES = re.compile(r"/assistants/[^/]+/(?:graph|schemas|subgraphs)$")
_OUTPUT_ROUTES = re.compile(r"/(?:wait|join)$")
_RUN_STREAM = re.compile(r"/runs(?:/stream|/[^/]+/stream)$|/threads/[^/]+/stream$")


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
    """The bijection between fixture and target placeholders (ids of any kind are one)."""

    forward: dict[tuple[str, int], tuple[str, int]] = field(default_factory=dict)
    backward: dict[tuple[str, int], tuple[str, int]] = field(default_factory=dict)

    def strings_match(self, expected: str, actual: str, *, bind: bool = True) -> bool:
        """Whether two normalised strings are the same up to placeholder identities; binds
        new pairs only when the whole string matches (and ``bind``)."""
        expected_tokens = placeholder_tokens(expected)
        actual_tokens = placeholder_tokens(actual)
        if len(expected_tokens) != len(actual_tokens):
            return False
        pending: dict[tuple[str, int], tuple[str, int]] = {}
        for mine, theirs in zip(expected_tokens, actual_tokens, strict=True):
            if isinstance(mine, str) or isinstance(theirs, str):
                if mine != theirs:
                    return False
                continue
            if mine[1] is None or theirs[1] is None:
                if mine != theirs:
                    return False
                continue
            if mine[0] != theirs[0] and not (mine[0] in _ID_KINDS and theirs[0] in _ID_KINDS):
                return False
            if not bind:
                continue
            key, value = (mine[0], mine[1]), (theirs[0], theirs[1])
            bound = self.forward.get(key, pending.get(key))
            back = self.backward.get(value)
            if bound is not None and bound != value:
                return False
            if back is not None and back != key:
                return False
            pending[key] = value
        for key, value in pending.items():
            self.forward[key] = value
            self.backward[value] = key
        return True


@dataclass(frozen=True, slots=True)
class _Walk:
    """How one payload is compared."""

    identities: _Identities
    schema: Schema
    relax: frozenset[Relax]
    graph_map: Mapping[str, str]
    values: bool = True
    bind: bool = True
    free_text: frozenset[str] = frozenset()
    client_set: frozenset[str] = frozenset()
    dependent: tuple[re.Pattern[str], ...] = ()
    """Pointers under which contents follow the graph or model (relaxed modes)."""
    unordered: str | None = None
    """The pointer of a list whose order is the server's choice (``UNORDERED_LISTS``)."""
    opaque_keys: bool = False
    """Top-level keys that are ids pair with any id key (``messages/metadata`` with a live
    model: keyed by the model call's ``lc_run--`` id, or by a tool message's own uuid when the
    model took a tool path the recording has not)."""


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


def _last_key(pointer: str) -> str:
    return pointer.rsplit("/", 1)[-1]


def _null_id_allowed(expected: Any, actual: Any, pointer: str, relax: frozenset[Relax]) -> bool:
    if not (
        (expected is None and isinstance(actual, str))
        or (actual is None and isinstance(expected, str))
    ):
        return False
    paths = NULL_ID_PATHS + (MODEL_NULL_ID_PATHS if Relax.MODEL in relax else ())
    return any(pattern.search(pointer) for pattern in paths)


def _skeleton(key: str) -> tuple[Any, ...]:
    return tuple(
        token if isinstance(token, str) else ("id" if token[0] in _ID_KINDS else token[0])
        for token in placeholder_tokens(key)
    )


def _paired_keys(
    expected: dict[str, Any], actual: dict[str, Any], *, opaque: bool = False
) -> tuple[list[tuple[str, str]], list[str], list[str]]:
    """Keys paired: equal ones first, then keys holding ids by their shape around the ids
    (an id key is matched by where it stands, not by its placeholder number); with
    ``opaque``, then any key holding an id with any other left over, in order."""
    pairs = [(key, key) for key in expected if key in actual]
    missing = [key for key in expected if key not in actual]
    extra = [key for key in actual if key not in expected]
    for key in list(missing):
        shape = _skeleton(key)
        if shape == (key,):
            continue
        for candidate in extra:
            if _skeleton(candidate) == shape:
                pairs.append((key, candidate))
                missing.remove(key)
                extra.remove(candidate)
                break
    if opaque:
        mine = [key for key in missing if "id" in _skeleton(key)]
        theirs = [key for key in extra if "id" in _skeleton(key)]
        for key, candidate in zip(mine, theirs, strict=False):
            pairs.append((key, candidate))
            missing.remove(key)
            extra.remove(candidate)
    return pairs, missing, extra


def _dependent(pointer: str, walk: _Walk) -> bool:
    return any(pattern.search(pointer) for pattern in walk.dependent)


def _diff(expected: Any, actual: Any, pointer: str, walk: _Walk) -> Iterator[Divergence]:
    """Every shape and value divergence of two payloads, in document order."""
    if _null_id_allowed(expected, actual, pointer, walk.relax):
        return
    model = Relax.MODEL in walk.relax
    last = _last_key(pointer)
    if (
        model
        and last == "usage_metadata"
        and {_kind(expected), _kind(actual)}
        <= {
            "null",
            "object",
        }
    ):
        return
    if model and last == "content" and {_kind(expected), _kind(actual)} <= {"string", "array"}:
        return
    if _kind(expected) != _kind(actual):
        if _dependent(pointer, walk) and not _protocol_object(walk.schema, pointer, actual):
            return
        if (
            _last_key(pointer) in NULLABLE_DEFAULTS
            and _server_default(pointer, walk)
            and {_kind(expected), _kind(actual)} <= {"null", "string"}
        ):
            return
        if _early_message_id(expected, actual, pointer, walk):
            yield Divergence(
                "replay.shape",
                "a message id where langgraph dev sends null (it names the message before "
                "langgraph dev does; the id is optional for clients)",
                pointer,
                None,
                _summary(actual),
                Severity.SHOULD,
            )
            return
        yield Divergence(
            "replay.shape",
            f"{_kind(actual)} where langgraph dev has {_kind(expected)}",
            pointer,
            _summary(expected),
            _summary(actual),
            severity_at(walk.schema, pointer),
        )
        return
    if walk.relax and last in MODEL_DEPENDENT_KEYS:
        return
    dependent = _dependent(pointer, walk)
    if isinstance(expected, dict):
        yield from _diff_object(expected, actual, pointer, walk, dependent)
    elif isinstance(expected, list):
        yield from _diff_list(expected, actual, pointer, walk, dependent)
    elif walk.values and not dependent:
        found = _value(expected, actual, pointer, walk)
        if found is not None:
            yield found


def _diff_object(
    expected: dict[str, Any], actual: dict[str, Any], pointer: str, walk: _Walk, dependent: bool
) -> Iterator[Divergence]:
    pairs, missing, extra = _paired_keys(expected, actual, opaque=walk.opaque_keys and not pointer)
    for key in missing:
        severity = missing_key_severity(walk.schema, pointer, key)
        if dependent and not _declared_closed(walk.schema, pointer, key):
            continue
        yield Divergence(
            "replay.shape",
            f"key {key!r} is missing",
            f"{pointer}/{_escape(key)}",
            _summary(expected[key]),
            None,
            severity,
        )
    for mine, theirs in pairs:
        child = f"{pointer}/{_escape(mine)}"
        if (
            mine != theirs
            and walk.values
            and not dependent
            and not walk.identities.strings_match(mine, theirs, bind=walk.bind)
        ):
            yield Divergence(
                "replay.value",
                "the key differs",
                child,
                mine,
                theirs,
                severity_at(walk.schema, child),
            )
        yield from _diff(expected[mine], actual[theirs], child, walk)
    if dependent or (walk.relax and schema_at(walk.schema, pointer) in (CONTENT, None)):
        # Keys inside content the graph or the model decides: not the server's doing.
        return
    for key in extra:
        yield Divergence(
            "replay.shape",
            f"key {key!r} is not sent by langgraph dev",
            f"{pointer}/{_escape(key)}",
            None,
            _summary(actual[key]),
            Severity.SHOULD,
        )


def _server_default(pointer: str, walk: _Walk) -> bool:
    """Whether ``pointer`` is an assistant key whose value the server chose."""
    last = _last_key(pointer)
    return (
        last in SERVER_DEFAULTS
        and last not in walk.client_set
        and schema_at(walk.schema, pointer.rsplit("/", 1)[0]) is ASSISTANT
    )


def _early_message_id(expected: Any, actual: Any, pointer: str, walk: _Walk) -> bool:
    """A message's ``id`` that langgraph dev sends as null and the target as a string: the
    tool node's ToolMessage in an ``updates`` event (fixtures/react_agent_updates.json) gets
    its id from the ``add_messages`` reducer only in the state; a server may name it at once.
    The reverse (null where langgraph dev has an id) stays a MUST finding."""
    return (
        expected is None
        and isinstance(actual, str)
        and _last_key(pointer) == "id"
        and schema_at(walk.schema, pointer.rsplit("/", 1)[0]) is MESSAGE
    )


def _declared_closed(schema: Schema, pointer: str, key: str) -> bool:
    """Whether ``key`` is a declared, required key of a closed contract object (a message's
    ``type``): such a key stays required even where contents are relaxed."""
    current = schema_at(schema, pointer)
    if isinstance(current, Shape) and not current.open:
        declared = current.keys.get(key)
        return declared is not None and declared.required
    return False


def _protocol_object(schema: Schema, pointer: str, actual: Any) -> bool:
    """Whether a kind mismatch inside relaxed contents still matters: the contract has a
    closed object there (a message, a checkpoint) and the target did not send null."""
    if actual is None:
        return False
    found = schema_at(schema, pointer)
    if isinstance(found, ListOf):
        found = found.item
    return isinstance(found, Shape) and not found.open


def _diff_list(
    expected: list[Any], actual: list[Any], pointer: str, walk: _Walk, dependent: bool
) -> Iterator[Divergence]:
    if pointer == walk.unordered and len(expected) == len(actual):
        order = _item_order(expected, actual)
        if order is not None and order != list(range(len(actual))):
            yield Divergence(
                "replay.value",
                "the items come in another order (the protocol promises none for a search "
                "without a query; compared by namespace and key)",
                pointer,
                severity=Severity.SHOULD,
            )
            for mine, position in zip(expected, order, strict=True):
                # the target's own position in the pointer: where a reader finds the item
                yield from _diff(mine, actual[position], f"{pointer}/{position}", walk)
            return
    if len(expected) == len(actual):
        for position, (mine, theirs) in enumerate(zip(expected, actual, strict=True)):
            child = f"{pointer}/{position}"
            yield from _diff(*_counterpart(expected, mine, theirs, child, walk))
        return
    if not walk.relax and not dependent:
        yield Divergence(
            "replay.shape",
            f"{len(actual)} item(s) where langgraph dev has {len(expected)}",
            pointer,
            len(expected),
            len(actual),
            severity_at(walk.schema, pointer),
        )
        return
    if not expected or not actual:
        return
    # Lengths follow the graph or the model: the first and the last items still have to
    # look like the recorded ones (the newest checkpoint and the root, the question and
    # the answer).
    relaxed = replace(walk, values=False, bind=False)
    yield from _diff(*_counterpart(expected, expected[0], actual[0], f"{pointer}/0", relaxed))
    if len(expected) > 1 and len(actual) > 1:
        last = f"{pointer}/{len(actual) - 1}"
        yield from _diff(*_counterpart(expected, expected[-1], actual[-1], last, relaxed))


def _message_type(value: Any) -> str | None:
    if isinstance(value, dict) and isinstance(value.get("type"), str):
        return str(value["type"])
    return None


def _counterpart(
    expected: list[Any], mine: Any, theirs: Any, pointer: str, walk: _Walk
) -> tuple[Any, Any, str, _Walk]:
    """What a list item is compared with. With a live model the messages follow its path (a
    tool's message where the recording has the answer): a message of another type than the
    recorded one is compared with the recording's last message of its type, or, when the
    recording has none, by its envelope only (the contract's required keys, no contents)."""
    kind = _message_type(theirs)
    if Relax.MODEL not in walk.relax or kind is None or _message_type(mine) in (kind, None):
        return mine, theirs, pointer, walk
    same = [item for item in expected if _message_type(item) == kind]
    if same:
        return same[-1], theirs, pointer, replace(walk, values=False, bind=False)
    return mine, theirs, pointer, _envelope_only(walk, pointer)


def _envelope_only(walk: _Walk, pointer: str) -> _Walk:
    contents = re.compile("^" + re.escape(pointer) + "(?:/|$)")
    return replace(walk, values=False, bind=False, dependent=(*walk.dependent, contents))


def _item_order(expected: list[Any], actual: list[Any]) -> list[int] | None:
    """For each recorded store item, the position of the target's item with the same
    namespace and key (or, when the namespaces themselves differ, the same key, if keys are
    unique on both sides); None when the two lists do not hold the same items."""

    def by_namespace_and_key(item: Any) -> str | None:
        if not isinstance(item, dict):
            return None
        namespace = item.get("namespace")
        if isinstance(namespace, list):
            # ids in a namespace are placeholders numbered per side: compare their shape
            namespace = [_skeleton(part) if isinstance(part, str) else part for part in namespace]
        return json.dumps([namespace, item.get("key")], sort_keys=True, default=str)

    def by_key(item: Any) -> str | None:
        return json.dumps(item.get("key")) if isinstance(item, dict) else None

    for identity in (by_namespace_and_key, by_key):
        positions = {identity(item): index for index, item in enumerate(actual)}
        if None in positions or len(positions) != len(actual):
            continue
        order = [positions.get(identity(item)) for item in expected]
        if all(index is not None for index in order) and len(set(order)) == len(order):
            return [index for index in order if index is not None]
    return None


def _value(expected: Any, actual: Any, pointer: str, walk: _Walk) -> Divergence | None:
    if pointer in walk.free_text and isinstance(expected, str) and isinstance(actual, str):
        return None
    if _server_default(pointer, walk) and _kind(expected) == _kind(actual):
        return None
    if isinstance(expected, str) and isinstance(actual, str):
        if walk.graph_map.get(expected) == actual:
            return None
        if walk.identities.strings_match(expected, actual, bind=walk.bind):
            return None
    elif _kind(expected) == _kind(actual) and expected == actual:
        return None
    return Divergence(
        "replay.value",
        "the value differs",
        pointer,
        _summary(expected),
        _summary(actual),
        severity_at(walk.schema, pointer),
    )


def _summary(value: Any) -> Any:
    """Small values as they are; big ones cut, so a finding stays readable."""
    if value is _MISSING:
        return None
    text = json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    return value if len(text) <= 300 else text[:300] + "..."


# --- headers -----------------------------------------------------------------------------------


def _header_value(name: str, value: str, *, parameters: bool = True) -> str:
    if name == "content-type":
        kind, *rest = value.split(";")
        if not parameters:
            return kind.strip().lower()
        normalised = sorted(p.strip().lower().replace('"', "") for p in rest if p.strip())
        return "; ".join([kind.strip().lower(), *normalised])
    if name == "cache-control":
        return ", ".join(sorted(part.strip().lower() for part in value.split(",") if part.strip()))
    if name == "x-accel-buffering":
        return value.strip().lower()
    return value.strip()


def _headers(
    expected: RecordedResponse, actual: RecordedResponse, identities: _Identities
) -> Iterator[Divergence]:
    for name, contract in HEADERS.items():
        values = _all_headers(actual, name)
        if len(values) > 1:
            yield Divergence(
                "replay.header",
                f"header {name} is sent {len(values)} times",
                expected=_header(expected, name),
                actual=values,
                severity=contract.severity,
            )
        mine, theirs = _header(expected, name), _header(actual, name)
        if mine is None:
            continue
        if theirs is None:
            yield Divergence(
                "replay.header",
                f"header {name} is missing",
                expected=mine,
                actual=None,
                severity=contract.severity,
            )
            continue
        if identities.strings_match(
            _header_value(name, mine, parameters=contract.parameters_matter),
            _header_value(name, theirs, parameters=contract.parameters_matter),
        ):
            if name == "content-type" and not identities.strings_match(
                _header_value(name, mine), _header_value(name, theirs)
            ):
                yield Divergence(
                    "replay.header",
                    f"header {name} has other parameters (clients read only the media type)",
                    expected=mine,
                    actual=theirs,
                    severity=Severity.SHOULD,
                )
            continue
        if name in ("location", "content-location") and _thread_prefixed(mine, theirs, identities):
            yield Divergence(
                "replay.header",
                f"header {name} names a thread where langgraph dev names none (the SDKs "
                "read the run id the same: the thread part of their pattern is optional)",
                expected=mine,
                actual=theirs,
                severity=Severity.SHOULD,
            )
            continue
        yield Divergence(
            "replay.header",
            f"header {name} differs" + _header_cause(name, mine, theirs),
            expected=mine,
            actual=theirs,
            severity=contract.severity,
        )


_THREAD_PREFIX = re.compile(r"^/threads/[^/]+(?=/runs/)")
"""The optional thread part of py:langgraph_sdk/_shared/utilities.py ``_RUN_METADATA_PATTERN``
(``(\\/threads\\/(?P<thread_id>.+))?\\/runs\\/(?P<run_id>.+)``; js:dist/client/base.js the same)."""


def _thread_prefixed(expected: str, actual: str, identities: _Identities) -> bool:
    """Whether ``actual`` is ``expected`` (a stateless run's ``/runs/...``) with a thread in
    front: the run is the same one, and the SDKs read it the same."""
    mine, theirs = urlsplit(expected).path, urlsplit(actual).path
    if not mine.startswith("/runs/") or not _THREAD_PREFIX.match(theirs):
        return False
    return identities.strings_match(mine, _THREAD_PREFIX.sub("", theirs, count=1))


def _header_cause(name: str, expected: str, actual: str) -> str:
    if name not in ("location", "content-location"):
        return ""
    mine = [_skeleton(part) for part in urlsplit(expected).path.split("/")]
    theirs = [_skeleton(part) for part in urlsplit(actual).path.split("/")]
    if len(mine) != len(theirs):
        return " (another number of path segments)"
    if mine == theirs:
        return " (an id is not the one the protocol returned for this resource)"
    return " (another path)"


def _all_headers(response: RecordedResponse, name: str) -> list[str]:
    return [value for key, value in response.headers if key.lower() == name]


def _header(response: RecordedResponse, name: str) -> str | None:
    values = _all_headers(response, name)
    return values[0] if values else None


# --- bodies ------------------------------------------------------------------------------------


def _decoded(data: str) -> Any:
    try:
        return json.loads(data)
    except ValueError:
        return _MISSING


def _base(name: str) -> str:
    return name.split("|", 1)[0]


def _event_key(name: str) -> tuple[Any, ...]:
    return _skeleton(name)


def _without_end(events: tuple[SSEEvent, ...]) -> tuple[SSEEvent, ...]:
    # An end event is legal (the SDKs accept it); langgraph dev sends none, so it is left out
    # of the comparison of the sequence and judged on its own (``_end_event``).
    return tuple(event for event in events if event.event != "end")


def _end_event(events: tuple[SSEEvent, ...]) -> Iterator[Divergence]:
    errored = any(_base(event.event) == "error" for event in events)
    for event in events:
        if event.event != "end" or not event.data.strip():
            continue
        payload = _decoded(event.data)
        status = payload.get("status") if isinstance(payload, dict) else None
        if status is None:
            continue
        if errored and status != "error":
            yield Divergence(
                "replay.end-event",
                f"end event says status {status!r} after an error event",
                "/status",
                "error",
                status,
                event_index=event.index,
            )
        elif not errored and status == "error":
            yield Divergence(
                "replay.end-event",
                "end event says status 'error' but the stream sent no error event",
                "/status",
                None,
                status,
                event_index=event.index,
            )


def _payload(
    expected: str, actual: str, walk: _Walk, event_index: int | None = None
) -> list[Divergence]:
    mine, theirs = _decoded(expected), _decoded(actual)
    if mine is _MISSING or theirs is _MISSING:
        if (mine is _MISSING) != (theirs is _MISSING):
            return [
                Divergence(
                    "replay.shape",
                    "not JSON" if theirs is _MISSING else "JSON where langgraph dev sends text",
                    expected=expected[:300],
                    actual=actual[:300],
                    event_index=event_index,
                )
            ]
        if walk.values and not walk.identities.strings_match(expected, actual, bind=walk.bind):
            return [
                Divergence(
                    "replay.value",
                    "the text differs",
                    "",
                    expected[:300],
                    actual[:300],
                    event_index=event_index,
                )
            ]
        return []
    return [replace(found, event_index=event_index) for found in _diff(mine, theirs, "", walk)]


def _id_field(first: SSEEvent, second: SSEEvent) -> Divergence | None:
    if (first.id is None) == (second.id is None):
        return None
    return Divergence(
        "replay.shape",
        "the event has no id: field"
        if second.id is None
        else "the event has an id: field langgraph dev does not send",
        expected=first.id,
        actual=second.id,
        event_index=second.index,
        # An id on a stream that is not resumable is harmless; a missing one breaks resuming
        # (the rules judge resumability on their own).
        severity=Severity.MUST if second.id is None else Severity.SHOULD,
    )


def _exact_stream(
    mine: list[SSEEvent], theirs: list[SSEEvent], walk: _Walk
) -> Iterator[Divergence]:
    for position in range(max(len(mine), len(theirs))):
        expected_name = mine[position].event if position < len(mine) else None
        actual_name = theirs[position].event if position < len(theirs) else None
        if (
            expected_name is not None
            and actual_name is not None
            and walk.identities.strings_match(expected_name, actual_name)
        ):
            continue
        index = theirs[position].index if position < len(theirs) else len(theirs)
        if actual_name is None:
            message = f"the stream ends where langgraph dev sends {expected_name!r}"
        elif expected_name is None:
            message = f"event {actual_name!r} where langgraph dev's stream has ended"
        else:
            message = f"event {actual_name!r} where langgraph dev sends {expected_name!r}"
        yield Divergence(
            "replay.event-order",
            message,
            expected=[event.event for event in mine],
            actual=[event.event for event in theirs],
            event_index=index,
        )
        return
    for first, second in zip(mine, theirs, strict=True):
        id_field = _id_field(first, second)
        if id_field is not None:
            yield id_field
        event_walk = replace(
            walk, schema=event_schema(first.event), free_text=_event_free_text(first.event, walk)
        )
        yield from _payload(first.data, second.data, event_walk, second.index)


def _free_stream(mine: list[SSEEvent], theirs: list[SSEEvent], walk: _Walk) -> Iterator[Divergence]:
    """A run stream whose sequence follows the graph or the model: the first event, the
    event kinds, the outcome, and each event against the closest recorded one of its name."""
    names = (
        [event.event for event in mine],
        [event.event for event in theirs],
    )
    if mine and theirs and _event_key(mine[0].event) != _event_key(theirs[0].event):
        yield Divergence(
            "replay.event-order",
            f"the stream starts with {theirs[0].event!r} where langgraph dev sends "
            f"{mine[0].event!r}",
            expected=names[0],
            actual=names[1],
            event_index=theirs[0].index,
        )
    if bool(mine) != bool(theirs):
        yield Divergence(
            "replay.event-order",
            "the stream is empty" if not theirs else "events where langgraph dev sends none",
            expected=names[0],
            actual=names[1],
        )
    recorded = {_base(event.event) for event in mine}
    sent = {_base(event.event) for event in theirs}
    for name in sorted(recorded - sent - PATH_DEPENDENT_EVENTS):
        yield Divergence(
            "replay.event-order",
            f"no {name!r} event where langgraph dev sends some",
            expected=names[0],
            actual=names[1],
        )
    for name in sorted(sent - recorded - PATH_DEPENDENT_EVENTS):
        first = next(event for event in theirs if _base(event.event) == name)
        yield Divergence(
            "replay.event-order",
            f"event {name!r} where langgraph dev sends none in this stream",
            expected=names[0],
            actual=names[1],
            event_index=first.index,
        )
    for event in theirs:
        candidates = [
            recorded_event
            for recorded_event in mine
            if _event_key(recorded_event.event) == _event_key(event.event)
        ] or [recorded_event for recorded_event in mine if recorded_event.event == event.event]
        if _base(event.event) == "updates":
            # An update is keyed by the node that made it, and which nodes run is the graph's
            # or the model's path: compare it with a recorded update of the same nodes; an
            # update of nodes langgraph dev did not run here is only checked to be an object.
            nodes = _node_keys(event.data)
            candidates = [c for c in candidates if _node_keys(c.data) == nodes]
            if not candidates and not isinstance(_decoded(event.data), dict):
                yield Divergence(
                    "replay.shape",
                    "an update that is not a JSON object",
                    actual=event.data[:300],
                    event_index=event.index,
                )
        if not candidates:
            continue
        envelope = False
        kind = _event_message_type(event.data)
        if Relax.MODEL in walk.relax and kind is not None:
            # A message of the model's path (a tool's result streamed where the recording
            # streamed only the answer) is compared with a recorded one of its type, or by
            # its envelope when the recording's path has none.
            same = [c for c in candidates if _event_message_type(c.data) == kind]
            envelope = not same
            candidates = same or candidates
        best: list[Divergence] | None = None
        for candidate in candidates:
            is_first = candidate is mine[0] and event is theirs[0]
            dependent = _EVENT_DEPENDENT.get(_base(event.event))
            patterns = (re.compile(dependent),) if dependent is not None else ()
            if envelope:
                patterns = (*patterns, re.compile(r"^/0(?:/|$)"))
            event_walk = replace(
                walk,
                schema=event_schema(event.event),
                free_text=_event_free_text(event.event, walk),
                values=is_first and walk.values,
                bind=is_first,
                dependent=patterns,
                opaque_keys=Relax.MODEL in walk.relax and _base(event.event) == "messages/metadata",
            )
            found = _payload(candidate.data, event.data, event_walk, event.index)
            id_field = _id_field(candidate, event)
            if id_field is not None:
                found.append(id_field)
            if best is None or _weight(found) < _weight(best):
                best = found
            if not best:
                break
        yield from best or []


def _event_free_text(name: str, walk: _Walk) -> frozenset[str]:
    return walk.free_text | ERROR_EVENT_TEXT if _base(name) == "error" else walk.free_text


def _event_message_type(data: str) -> str | None:
    """The type of the message a ``messages`` (a [message, metadata] pair) or
    ``messages/partial|complete`` (a list of messages) event carries."""
    decoded = _decoded(data)
    if isinstance(decoded, list) and decoded:
        return _message_type(decoded[0])
    return None


def _node_keys(data: str) -> frozenset[str] | None:
    decoded = _decoded(data)
    return frozenset(decoded) if isinstance(decoded, dict) else None


def _weight(found: list[Divergence]) -> tuple[int, int]:
    return (
        sum(1 for item in found if item.severity is Severity.MUST),
        len(found),
    )


def _stream_body(
    expected: Exchange, actual: Exchange, walk: _Walk, free: bool, run_deleted: bool = False
) -> Iterator[Divergence]:
    mine_events = parse_stream(expected.response.body).events
    theirs_events = parse_stream(actual.response.body).events
    yield from _end_event(theirs_events)
    mine = list(_without_end(mine_events))
    theirs = list(_without_end(theirs_events))
    if run_deleted:
        mine, theirs = _without_deletion_error(mine, theirs)
    if expected.response.closed_by == "client" or actual.response.closed_by == "client":
        # A client that hangs up after N events may have read a few more in its last network
        # read: only what both sides surely saw is comparable.
        common = min(len(mine), len(theirs))
        end = _free_end(mine, theirs, common) if free and Relax.MODEL in walk.relax else common
        mine, theirs = mine[:common], theirs[:end]
    if free:
        yield from _free_stream(mine, theirs, walk)
    else:
        yield from _exact_stream(mine, theirs, walk)


def _without_deletion_error(
    mine: list[SSEEvent], theirs: list[SSEEvent]
) -> tuple[list[SSEEvent], list[SSEEvent]]:
    """A stream whose run the scenario deletes under it: langgraph dev ends it with an
    ``error`` event or without, by a race of its own (``Stream.run_deleted_under_it``). A
    last ``error`` event on one side where the other sends no error at all is left out;
    an error anywhere else, or on both sides, is compared as usual."""

    def errors(events: list[SSEEvent]) -> int:
        return sum(1 for event in events if _base(event.event) == "error")

    def trailing_error(events: list[SSEEvent]) -> bool:
        return bool(events) and _base(events[-1].event) == "error" and errors(events) == 1

    if trailing_error(theirs) and not errors(mine):
        return mine, theirs[:-1]
    if trailing_error(mine) and not errors(theirs):
        return mine[:-1], theirs
    return mine, theirs


def _free_end(mine: list[SSEEvent], theirs: list[SSEEvent], common: int) -> int:
    """Where a relaxed stream the client hung up on is cut: the path decides how many events
    lead to the event the client stops at (a thread stream read up to a run's run_done
    metadata has more events when the model called a tool), so the target's stream is read
    up to its first event like the recorded last one from the common length on."""
    if not mine or common == 0:
        return common
    last = _event_key(mine[-1].event)
    for position in range(common - 1, len(theirs)):
        if _event_key(theirs[position].event) == last:
            return position + 1
    return common


def _plain_body(expected: Exchange, actual: Exchange, walk: _Walk) -> Iterator[Divergence]:
    mine_text = expected.response.body.decode("utf-8", errors="replace")
    theirs_text = actual.response.body.decode("utf-8", errors="replace")
    if not mine_text.strip() or not theirs_text.strip():
        if bool(mine_text.strip()) != bool(theirs_text.strip()):
            yield Divergence(
                "replay.shape",
                "the body is empty"
                if not theirs_text.strip()
                else "a body where langgraph dev sends none",
                expected=mine_text[:300],
                actual=theirs_text[:300],
            )
        return
    yield from _payload(mine_text, theirs_text, walk)


# --- exchanges ---------------------------------------------------------------------------------


def _dependent_pointers(path: str, relax: frozenset[Relax]) -> tuple[re.Pattern[str], ...]:
    if not relax:
        return ()
    if _OUTPUT_ROUTES.search(path) or (Relax.GRAPH in relax and _GRAPH_ONLY_ROUTES.search(path)):
        return (re.compile(""),)
    keys = "|".join(sorted(_DEPENDENT_BODY_KEYS))
    patterns = [
        rf"^(?:/[0-9]+)?/(?:{keys})(?:/|$)",
        r"^(?:/[0-9]+)?/metadata/(?:step|writes|source|parents)(?:/|$)",
        r"^(?:/[0-9]+)?/(?:parent_)?checkpoint(?:_id)?(?:/|$)",
        r"^/checkpoint(?:/|$)",
    ]
    if Relax.GRAPH in relax:
        patterns.append(r"^(?:/[0-9]+)?/(?:config|context)(?:/|$)")
    return tuple(re.compile(pattern) for pattern in patterns)


def _free_text(path: str, status: int) -> frozenset[str]:
    if status >= 400:
        return ERROR_FREE_TEXT
    return OUTPUT_ERROR_TEXT if _OUTPUT_ROUTES.search(path) else frozenset()


def _unordered(exchange: Exchange, path: str) -> str | None:
    """The pointer of the list whose order the server chooses in this answer, if any."""
    body = exchange.request.body
    if isinstance(body, dict) and body.get("query"):
        return None  # a query sorts by score: the order is the answer
    return UNORDERED_LISTS.get(path) if exchange.request.method.upper() == "POST" else None


def _client_set(exchange: Exchange) -> frozenset[str]:
    body = exchange.request.body
    return frozenset(key for key in SERVER_DEFAULTS if isinstance(body, dict) and key in body)


def _is_preflight(exchange: Exchange) -> bool:
    return exchange.request.method.upper() == "OPTIONS"


def _is_ok(status: int) -> bool:
    return 200 <= status < 300


def _status(expected: Exchange, actual: Exchange) -> Divergence:
    body = actual.response.body.decode("utf-8", errors="replace").strip()
    return Divergence(
        "replay.status",
        f"{actual.request.method} {actual.request.path}: status {actual.response.status} "
        f"where langgraph dev answers {expected.response.status}"
        + (f"; the target's body: {body[:300]}" if body else "; the target sent no body"),
        expected=expected.response.status,
        actual=actual.response.status,
    )


def _exchange(
    expected: Exchange,
    actual: Exchange,
    identities: _Identities,
    relax: frozenset[Relax],
    graph_map: Mapping[str, str],
    run_deleted: bool = False,
) -> Iterator[Divergence]:
    if _is_preflight(expected):
        # Fetch asks only for an "ok status" (any 2xx) and the Access-Control-* headers, which
        # the cors rules judge; the body (langgraph dev's "OK") reaches no one.
        if _is_ok(expected.response.status) != _is_ok(actual.response.status):
            yield _status(expected, actual)
        return
    if expected.response.status != actual.response.status:
        yield _status(expected, actual)
        return
    yield from _headers(expected.response, actual.response, identities)
    path = urlsplit(expected.request.path).path
    status = expected.response.status
    walk = _Walk(
        identities=identities,
        schema=route_schema(expected.request.method, path, status),
        relax=relax,
        graph_map=graph_map,
        free_text=_free_text(path, status),
        unordered=_unordered(expected, path),
        client_set=_client_set(expected),
        dependent=_dependent_pointers(path, relax),
    )
    if is_stream(expected) and 200 <= status < 300:
        free = bool(relax) and bool(_RUN_STREAM.search(path))
        yield from _stream_body(expected, actual, walk, free, run_deleted)
    else:
        yield from _plain_body(expected, actual, walk)


def _capped(divergences: Iterator[Divergence]) -> list[Divergence]:
    kept: list[Divergence] = []
    counts: Counter[str] = Counter()
    for divergence in divergences:
        counts[divergence.rule] += 1
        if counts[divergence.rule] <= MAX_PER_RULE:
            kept.append(divergence)
    for rule, count in counts.items():
        if count > MAX_PER_RULE:
            severities = [d.severity for d in kept if d.rule == rule]
            kept.append(
                Divergence(
                    rule,
                    f"and {count - MAX_PER_RULE} more divergence(s) of this rule in this exchange",
                    severity=min(severities, key=list(Severity).index),
                )
            )
    return kept


def _relaxed_note(relax: frozenset[Relax]) -> str:
    if not relax:
        return ""
    return " [relaxed: " + ", ".join(sorted(mode.value for mode in relax)) + "]"


def _finding(divergence: Divergence, scenario: str, step: str, relax: frozenset[Relax]) -> Finding:
    note = _relaxed_note(relax) if divergence.rule != "replay.status" else ""
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
    expected: Transcript,
    actual: Transcript,
    *,
    relax: frozenset[Relax] = frozenset(),
    graph_map: Mapping[str, str] | None = None,
    compare_values: bool | None = None,
    runs_deleted_in: frozenset[str] = frozenset(),
) -> list[Finding]:
    """Findings for where ``actual`` (the target, normalised) departs from ``expected`` (the
    fixture, normalised): every divergence, grouped per exchange and rule, capped.

    ``relax`` names what may differ (``Relax``); ``graph_map`` (ours -> theirs) makes a
    mapped graph id equal to ours. ``compare_values=False`` is the old spelling of both
    relaxations. ``runs_deleted_in``: the stream steps whose run the scenario deletes under
    them (``Stream.run_deleted_under_it``). Never raises."""
    if compare_values is False and not relax:
        relax = frozenset(Relax)
    graph_map = dict(graph_map or {})
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
            divergences = _capped(
                _exchange(
                    exchange,
                    theirs,
                    identities,
                    relax,
                    graph_map,
                    exchange.step in runs_deleted_in,
                )
            )
        except Exception as error:  # never raise: say the comparison itself failed
            divergences = [
                Divergence(
                    ENGINE_ERROR_RULE,
                    f"the suite could not compare this exchange: {type(error).__name__}: {error}",
                )
            ]
        findings += [
            _finding(divergence, scenario, exchange.step, relax) for divergence in divergences
        ]
    return findings
