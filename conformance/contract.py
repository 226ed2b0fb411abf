"""The client contract: what the official SDKs read or declare, as data.

A divergence is a MUST when it breaks a real client: a key or header that ``langgraph-sdk``
(Python, ``langgraph_sdk`` 0.4.x) or ``@langchain/langgraph-sdk`` (JS 1.15.x: its types and
its ``useStream`` code) reads or declares. A key that only ``langgraph dev`` sends, in no SDK
type and read by no SDK code, is a SHOULD: clients ignore it.

Sources are cited per entry: ``py:`` paths are inside the installed ``langgraph_sdk`` package,
``js:`` paths inside the npm package ``@langchain/langgraph-sdk`` (``npm pack``).

The table maps a response (by route) or a stream event (by name) to a ``Schema``:

- ``Shape``: an object with declared keys (each required or optional, each with its own
  schema); with ``open=True`` its undeclared keys are content (``[key: string]: unknown``);
- ``ListOf``, ``MapOf``, ``TupleOf``;
- ``CONTENT``: data a client shows or hands on as it is (state values, tool arguments): every
  difference inside it matters.

Pure data and pure functions.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from conformance.findings import Severity

PY = "py:langgraph_sdk/"
JS = "js:dist/"


@dataclass(frozen=True, slots=True)
class Content:
    """Data clients use as it is: every key and value inside it matters."""


CONTENT = Content()


@dataclass(frozen=True, slots=True)
class Key:
    schema: Schema
    source: str
    required: bool = True


@dataclass(frozen=True, slots=True)
class Shape:
    name: str
    keys: Mapping[str, Key]
    open: bool = False
    """Undeclared keys are content (a ``[key: string]: unknown`` index signature)."""


@dataclass(frozen=True, slots=True)
class ListOf:
    item: Schema


@dataclass(frozen=True, slots=True)
class MapOf:
    value: Schema


@dataclass(frozen=True, slots=True)
class TupleOf:
    items: tuple[Schema, ...]


@dataclass(frozen=True, slots=True)
class Echoed:
    """An open object that echoes what the client stored (``metadata``, ``configurable``), to
    which ``langgraph dev`` adds keys of its own: those (``server_keys``) no SDK reads, so a
    divergence there is a SHOULD; every other key is the client's, content."""

    server_keys: frozenset[str]
    source: str
    read: Mapping[str, Key] = field(default_factory=dict)
    """Keys among the server's that an SDK reads when they are there (optional: their absence
    is a SHOULD, a divergence under them a MUST)."""


Schema = Content | Shape | ListOf | MapOf | TupleOf | Echoed


def _shape(shape_name: str, source: str, content: str = "", /, **keys: Schema | Key) -> Shape:
    """A shape whose keys ``source`` declares: the names in ``content`` (separated by spaces)
    are required content, ``keys`` the others (a bare schema a required key)."""
    declared = {key: Key(CONTENT, source) for key in content.split()}
    if twice := declared.keys() & keys.keys():
        raise ValueError(f"shape {shape_name}: keys {sorted(twice)} declared twice")
    declared.update(
        (key, value if isinstance(value, Key) else Key(value, source))
        for key, value in keys.items()
    )
    return Shape(shape_name, declared)


def _optional(schema: Schema, source: str) -> Key:
    return Key(schema, source, required=False)


def _optional_content(source: str, names: str) -> dict[str, Key]:
    """Optional content keys that ``source`` declares, named in ``names`` (separated by
    spaces)."""
    return {name: _optional(CONTENT, source) for name in names.split()}


# --- objects -----------------------------------------------------------------------------------

_SCHEMA_PY = PY + "schema.py"
_SCHEMA_JS = JS + "schema.d.ts"

SERVER_WRITTEN_KEYS: frozenset[str] = frozenset(
    {
        "__after_seconds__",
        "__request_start_time_ms__",
        "assistant_id",
        "created_by",
        "graph_id",
        "langgraph_api_url",
        "langgraph_api_version",
        "langgraph_auth_permissions",
        "langgraph_auth_user",
        "langgraph_auth_user_id",
        "langgraph_host",
        "langgraph_plan",
        "langgraph_request_id",
        "langgraph_version",
        "lc_versions",
        "run_attempt",
        "user_id",
    }
)
"""Keys ``langgraph dev``'s API server writes into metadata and ``configurable`` (seen in every
recording in fixtures/, never in a request): deployment details, request bookkeeping and the
ids it already returns elsewhere. No SDK reads them (``Metadata`` is ``Record<string,
unknown>`` / ``dict[str, Any]``). LangGraph's own run metadata (``langgraph_node``,
``langgraph_step``, ``checkpoint_ns``...) is not among them: the library writes it, on any
server, and ``useStream`` hands it to the UI."""
_MESSAGES_JS = JS + "types.messages.d.ts"

CHECKPOINT_WRITTEN_KEYS: frozenset[str] = SERVER_WRITTEN_KEYS | frozenset(
    {
        "source",
        "step",
        "parents",
        "writes",
        "thread_id",
        "checkpoint_ns",
        "lc_agent_name",
        "ls_integration",
        "base_url",
        "model_name",
        "custom_api_key",
    }
)
"""Keys of a checkpoint's metadata that the server writes (fixtures/*.json, every state and
history entry): langgraph's own ``source``, ``step``, ``parents`` (``writes`` in older
versions), and the primitive values of the run's ``configurable`` that
langgraph's config handling copies into metadata (``thread_id``; the suite's model settings
``base_url``, ``model_name``, ``custom_api_key``). ``ThreadState.metadata`` is ``Json`` in
py:langgraph_sdk/schema.py and ``Metadata`` (an open object) in js:dist/schema.d.ts; of these
keys only ``step`` is read (``CHECKPOINT_METADATA``). Not among them: ``run_id``, which names
the run that wrote the state (a lifecycle value: a state left by the wrong run is a finding)."""

CONFIG = _shape(
    "Config",
    f"{_SCHEMA_PY} Config; {_SCHEMA_JS} Config",
    **_optional_content(_SCHEMA_JS, "tags recursion_limit"),
    configurable=_optional(
        Echoed(SERVER_WRITTEN_KEYS, f"{_SCHEMA_JS} Config.configurable; fixtures/*.json"),
        _SCHEMA_JS,
    ),
)

CHECKPOINT = _shape(
    "Checkpoint",
    f"{_SCHEMA_PY} Checkpoint; {_SCHEMA_JS} Checkpoint",
    "thread_id checkpoint_ns checkpoint_id checkpoint_map",
)

INTERRUPT = _shape(
    "Interrupt",
    f"{_SCHEMA_PY} Interrupt; {_SCHEMA_JS} Interrupt",
    "id value",
    response_schema=_optional(CONTENT, _SCHEMA_PY),
    **_optional_content(_SCHEMA_JS, "namespace when resumable ns"),
)

_TOOL_CALL = _shape(
    "ToolCall",
    f"{_MESSAGES_JS} DefaultToolCall",
    "name args id",
    type=_optional(CONTENT, f"{_MESSAGES_JS} DefaultToolCall"),
)
_TOOL_CALL_CHUNK = _shape(
    "ToolCallChunk",
    JS + "stream/message-reconciliation.js (tool_call_chunks compared); "
    "js:dist/stream/assembled-to-message.js",
    "name args id index",
    type=_optional(CONTENT, JS + "stream/assembled-to-message.js"),
)
_INVALID_TOOL_CALL = Shape(
    "InvalidToolCall",
    {
        key: _optional(CONTENT, f"{_MESSAGES_JS} InvalidToolCall")
        for key in ("name", "args", "id", "error", "type")
    },
)
_USAGE = Shape(
    "UsageMetadata",
    {
        "input_tokens": Key(CONTENT, f"{_MESSAGES_JS} UsageMetadata"),
        "output_tokens": Key(CONTENT, f"{_MESSAGES_JS} UsageMetadata"),
        "total_tokens": Key(CONTENT, f"{_MESSAGES_JS} UsageMetadata"),
        **_optional_content(
            f"{_MESSAGES_JS} UsageMetadata", "input_token_details output_token_details"
        ),
    },
)

MESSAGE = Shape(
    "Message",
    {
        "type": Key(CONTENT, f"{_MESSAGES_JS} Message (discriminant)"),
        "content": Key(CONTENT, f"{_MESSAGES_JS} BaseMessage"),
        **_optional_content(
            f"{_MESSAGES_JS} BaseMessage", "id name additional_kwargs response_metadata"
        ),
        "example": _optional(CONTENT, f"{_MESSAGES_JS} HumanMessage, AIMessage"),
        "tool_calls": _optional(ListOf(_TOOL_CALL), f"{_MESSAGES_JS} AIMessage"),
        "invalid_tool_calls": _optional(ListOf(_INVALID_TOOL_CALL), f"{_MESSAGES_JS} AIMessage"),
        "usage_metadata": _optional(_USAGE, f"{_MESSAGES_JS} AIMessage"),
        **_optional_content(f"{_MESSAGES_JS} ToolMessage", "tool_call_id status artifact"),
        "tool_call_chunks": _optional(
            ListOf(_TOOL_CALL_CHUNK), JS + "stream/message-reconciliation.js"
        ),
    },
)

STATE_VALUES = Shape(
    "StateValues",
    {"messages": _optional(ListOf(MESSAGE), JS + "ui/manager.js (values[messagesKey])")},
    open=True,
)
"""A graph's state: its keys are the graph's; ``messages`` is what ``useStream`` reads."""

METADATA = Echoed(
    SERVER_WRITTEN_KEYS,
    f"{_SCHEMA_PY} Json metadata; {_SCHEMA_JS} Metadata (an open object); fixtures/*.json",
)
"""``Metadata`` in both SDKs is an open JSON object: what the client stored, echoed, plus what
the server writes."""

CHECKPOINT_METADATA = Echoed(
    CHECKPOINT_WRITTEN_KEYS,
    f"{_SCHEMA_PY} ThreadState.metadata Json; {_SCHEMA_JS} ThreadState.metadata; fixtures/*.json",
    read={
        "step": Key(
            CONTENT,
            JS + "stream/controller.js (state.metadata?.step seeds the projection, "
            "only when it is a number)",
            required=False,
        )
    },
)
"""A checkpoint's metadata (thread state, history entries, checkpoint and debug payloads): the
server's writing (``CHECKPOINT_WRITTEN_KEYS``) plus the run metadata the client sent."""

ASSISTANT = _shape(
    "Assistant",
    f"{_SCHEMA_PY} AssistantBase, Assistant; {_SCHEMA_JS} AssistantBase, Assistant",
    "assistant_id graph_id context created_at updated_at version name",
    config=CONFIG,
    metadata=METADATA,
    description=_optional(CONTENT, _SCHEMA_JS),
)

THREAD = _shape(
    "Thread",
    f"{_SCHEMA_PY} Thread; {_SCHEMA_JS} Thread",
    "thread_id created_at updated_at status",
    state_updated_at=Key(CONTENT, f"{_SCHEMA_JS} Thread"),
    metadata=METADATA,
    values=STATE_VALUES,
    interrupts=MapOf(ListOf(INTERRUPT)),
    config=_optional(CONFIG, _SCHEMA_JS),
    error=_optional(CONTENT, _SCHEMA_JS),
    extracted=_optional(CONTENT, _SCHEMA_PY),
)

THREAD_TASK = _shape(
    "ThreadTask",
    f"{_SCHEMA_PY} ThreadTask; {_SCHEMA_JS} ThreadTask",
    "id name error state",
    interrupts=ListOf(INTERRUPT),
    checkpoint=CHECKPOINT,
    result=_optional(CONTENT, _SCHEMA_JS),
)

THREAD_STATE = _shape(
    "ThreadState",
    f"{_SCHEMA_PY} ThreadState; {_SCHEMA_JS} ThreadState",
    "next created_at",
    values=STATE_VALUES,
    checkpoint=CHECKPOINT,
    metadata=CHECKPOINT_METADATA,
    parent_checkpoint=CHECKPOINT,
    tasks=ListOf(THREAD_TASK),
    interrupts=_optional(ListOf(INTERRUPT), _SCHEMA_PY),
)

RUN = _shape(
    "Run",
    f"{_SCHEMA_PY} Run; {_SCHEMA_JS} Run",
    "run_id thread_id assistant_id created_at updated_at status multitask_strategy",
    metadata=METADATA,
    cancel_reason=_optional(CONTENT, _SCHEMA_PY),
)

ITEM = _shape(
    "Item",
    f"{_SCHEMA_PY} Item; {_SCHEMA_JS} Item",
    "namespace key value",
    created_at=Key(CONTENT, _SCHEMA_PY),
    updated_at=Key(CONTENT, _SCHEMA_PY),
    score=_optional(CONTENT, f"{_SCHEMA_PY} SearchItem"),
)

GRAPH_SCHEMA = _shape(
    "GraphSchema",
    f"{_SCHEMA_PY} GraphSchema; {_SCHEMA_JS} GraphSchema",
    "graph_id input_schema output_schema state_schema config_schema",
    context_schema=_optional(CONTENT, _SCHEMA_JS),
)

ASSISTANT_GRAPH = _shape(
    "AssistantGraph",
    f"{_SCHEMA_JS} AssistantGraph",
    nodes=ListOf(
        Shape(
            "GraphNode",
            {
                "id": Key(CONTENT, _SCHEMA_JS),
                **_optional_content(_SCHEMA_JS, "name data metadata"),
            },
        )
    ),
    edges=ListOf(
        Shape(
            "GraphEdge",
            {
                "source": Key(CONTENT, _SCHEMA_JS),
                "target": Key(CONTENT, _SCHEMA_JS),
                **_optional_content(_SCHEMA_JS, "data conditional"),
            },
        )
    ),
)

ERROR_BODY = Shape(
    "ErrorBody",
    {"detail": _optional(CONTENT, PY + "errors.py (message, detail or error read)")},
)
"""A 4xx/5xx JSON body: the SDKs read ``message``, ``detail`` or ``error``, whichever is there."""

_CHECKPOINT_TASK = _shape(
    "CheckpointTaskPayload",
    f"{_SCHEMA_PY} CheckpointTaskPayload",
    "id name state",
    **_optional_content(_SCHEMA_PY, "error result interrupts"),
)
CHECKPOINT_PAYLOAD = _shape(
    "CheckpointPayload",
    f"{_SCHEMA_PY} CheckpointPayload",
    "next",
    config=CONFIG,
    metadata=CHECKPOINT_METADATA,
    values=STATE_VALUES,
    parent_config=CONFIG,
    tasks=ListOf(_CHECKPOINT_TASK),
)
TASK_PAYLOAD = Shape(
    "TaskPayload | TaskResultPayload",
    {
        "id": Key(CONTENT, f"{_SCHEMA_PY} TaskPayload, TaskResultPayload"),
        "name": Key(CONTENT, f"{_SCHEMA_PY} TaskPayload, TaskResultPayload"),
        **_optional_content(f"{_SCHEMA_PY} TaskPayload", "input triggers"),
        **_optional_content(f"{_SCHEMA_PY} TaskResultPayload", "error interrupts result"),
    },
)
_DEBUG_SOURCE = f"{_SCHEMA_PY} _DebugCheckpointPayload, _DebugTaskPayload, _DebugTaskResultPayload"
DEBUG_PAYLOAD = _shape(
    "DebugPayload",
    _DEBUG_SOURCE,
    "step timestamp type",
    payload=Shape(
        "CheckpointPayload | TaskPayload | TaskResultPayload",
        {
            name: Key(key.schema, key.source, required=False)
            for name, key in {**CHECKPOINT_PAYLOAD.keys, **TASK_PAYLOAD.keys}.items()
        },
    ),
)

RUN_METADATA = _shape("RunMetadataPayload", f"{_SCHEMA_PY} RunMetadataPayload", "run_id")

# --- where each applies ------------------------------------------------------------------------

_ID = r"[^/]+"


@dataclass(frozen=True, slots=True)
class Route:
    method: str
    path: re.Pattern[str]
    schema: Schema


def _route(method: str, pattern: str, schema: Schema) -> Route:
    return Route(method, re.compile("^" + pattern.replace("{id}", _ID) + "$"), schema)


ROUTES: tuple[Route, ...] = (
    _route("POST", "/assistants/search", ListOf(ASSISTANT)),
    _route("POST", "/assistants/count", CONTENT),
    _route("POST", "/assistants", ASSISTANT),
    _route("GET", "/assistants/{id}", ASSISTANT),
    _route("PATCH", "/assistants/{id}", ASSISTANT),
    _route("POST", "/assistants/{id}/latest", ASSISTANT),
    _route("POST", "/assistants/{id}/versions", ListOf(ASSISTANT)),
    _route("GET", "/assistants/{id}/graph", ASSISTANT_GRAPH),
    _route("GET", "/assistants/{id}/schemas", GRAPH_SCHEMA),
    _route("GET", "/assistants/{id}/subgraphs", MapOf(GRAPH_SCHEMA)),
    _route("POST", "/threads/search", ListOf(THREAD)),
    _route("POST", "/threads/count", CONTENT),
    _route("POST", "/threads", THREAD),
    _route("GET", "/threads/{id}", THREAD),
    _route("PATCH", "/threads/{id}", THREAD),
    _route("POST", "/threads/{id}/copy", THREAD),
    _route("GET", "/threads/{id}/state", THREAD_STATE),
    _route("GET", "/threads/{id}/state/{id}", THREAD_STATE),
    _route(
        "POST",
        "/threads/{id}/state",
        _shape("ThreadUpdateStateResponse", _SCHEMA_PY, checkpoint=CHECKPOINT),
    ),
    _route("GET", "/threads/{id}/history", ListOf(THREAD_STATE)),
    _route("POST", "/threads/{id}/history", ListOf(THREAD_STATE)),
    _route("GET", "/threads/{id}/runs", ListOf(RUN)),
    _route("POST", "/threads/{id}/runs", RUN),
    _route("POST", "/runs", RUN),
    _route("GET", "/threads/{id}/runs/{id}", RUN),
    _route("GET", "/store/items", ITEM),
    _route(
        "POST", "/store/items/search", _shape("SearchItemsResponse", _SCHEMA_PY, items=ListOf(ITEM))
    ),
    _route(
        "POST",
        "/store/namespaces",
        _shape("ListNamespaceResponse", _SCHEMA_PY, "namespaces"),
    ),
)
"""Response bodies by route (paths normalised, ids as placeholders). Run outputs (``/wait``,
``/join``) and anything not listed are content."""

EVENTS: Mapping[str, Schema] = {
    "metadata": RUN_METADATA,
    "values": STATE_VALUES,
    "updates": MapOf(STATE_VALUES),
    "messages/partial": ListOf(MESSAGE),
    "messages/complete": ListOf(MESSAGE),
    "messages/metadata": MapOf(
        Shape("MessageMetadata", {"metadata": Key(METADATA, f"{_SCHEMA_JS} (useStream)")}, True)
    ),
    # the second item is the run metadata langgraph attaches to a message chunk: langgraph's
    # own keys (langgraph_node, langgraph_checkpoint_ns... read by js:dist/ui/manager.js) are
    # content; the keys the API server adds (``SERVER_WRITTEN_KEYS``) no SDK reads
    "messages": TupleOf((MESSAGE, METADATA)),
    "custom": CONTENT,
    "checkpoints": CHECKPOINT_PAYLOAD,
    "tasks": TASK_PAYLOAD,
    "debug": DEBUG_PAYLOAD,
    "error": CONTENT,
    "events": CONTENT,
}
"""Stream event payloads by event name (before any ``|namespace``); ``py:schema.py``
``StreamPartV2`` and its members."""


@dataclass(frozen=True, slots=True)
class HeaderContract:
    severity: Severity
    source: str
    parameters_matter: bool = True
    """False when clients read only the value before ``;`` (the media type)."""


HEADERS: Mapping[str, HeaderContract] = {
    "content-type": HeaderContract(
        Severity.MUST,
        PY
        + "_async/http.py (content-type partition(';')[0] must contain text/event-stream); "
        + JS
        + "utils/stream.js (content-type split(';')[0])",
        parameters_matter=False,
    ),
    "location": HeaderContract(
        Severity.MUST,
        PY + "_async/http.py (location: the reconnect path); " + JS + "utils/stream.js",
    ),
    "content-location": HeaderContract(
        Severity.MUST,
        PY
        + "_shared/utilities.py (run and thread ids from Content-Location); "
        + JS
        + "client/base.js",
    ),
    "x-pagination-next": HeaderContract(
        Severity.MUST,
        PY
        + "_async/assistants.py (X-Pagination-Next cursor); "
        + JS
        + "client/assistants/index.js",
    ),
    "x-pagination-total": HeaderContract(Severity.SHOULD, "langgraph dev only; no SDK reads it"),
    "cache-control": HeaderContract(
        Severity.SHOULD, "langgraph dev only; for proxies, no SDK reads it"
    ),
    "x-accel-buffering": HeaderContract(
        Severity.SHOULD, "langgraph dev only; for nginx, no SDK reads it"
    ),
}
"""Protocol headers: who reads them. Compared when the recording has them."""


# --- lookups -----------------------------------------------------------------------------------


def route_schema(method: str, path: str, status: int) -> Schema:
    """The schema of a response body; an error body for 4xx/5xx."""
    if status >= 400:
        return ERROR_BODY
    bare = path.split("?", 1)[0]
    for route in ROUTES:
        if route.method == method.upper() and route.path.match(bare):
            return route.schema
    return CONTENT


def event_schema(event: str) -> Schema:
    return EVENTS.get(event.split("|", 1)[0], CONTENT)


def _unescape(segment: str) -> str:
    return segment.replace("~1", "/").replace("~0", "~")


def segments(pointer: str) -> list[str]:
    return [_unescape(part) for part in pointer.split("/")[1:]] if pointer else []


def _child(schema: Schema, segment: str) -> tuple[Schema, Key | None] | None:
    """The schema one step down, with the key declaring it; None when undeclared."""
    if isinstance(schema, Content):
        return CONTENT, None
    if isinstance(schema, Echoed):
        read = schema.read.get(segment)
        if read is not None:
            return read.schema, read
        return None if segment in schema.server_keys else (CONTENT, None)
    if isinstance(schema, Shape):
        key = schema.keys.get(segment)
        if key is not None:
            return key.schema, key
        return (CONTENT, None) if schema.open else None
    if isinstance(schema, ListOf):
        return schema.item, None
    if isinstance(schema, MapOf):
        return schema.value, None
    if segment.isdigit() and int(segment) < len(schema.items):
        return schema.items[int(segment)], None
    return CONTENT, None


def schema_at(schema: Schema, pointer: str) -> Schema | None:
    """The schema at ``pointer``; None when a key on the way is undeclared."""
    current = schema
    for segment in segments(pointer):
        step = _child(current, segment)
        if step is None:
            return None
        current = step[0]
    return current


def severity_at(schema: Schema, pointer: str) -> Severity:
    """MUST when every key on the way to ``pointer`` is declared (or content), SHOULD as soon
    as one is a key no SDK reads or declares."""
    current = schema
    for segment in segments(pointer):
        step = _child(current, segment)
        if step is None:
            return Severity.SHOULD
        current = step[0]
    return Severity.MUST


def missing_key_severity(schema: Schema, parent_pointer: str, key: str) -> Severity:
    """A key absent from the target's object: MUST when a client needs it (declared and
    required, or inside content), SHOULD when it is optional or no SDK declares it."""
    current = schema_at(schema, parent_pointer)
    if current is None:
        return Severity.SHOULD
    if isinstance(current, Echoed):
        return (
            Severity.SHOULD if key in current.server_keys or key in current.read else Severity.MUST
        )
    if isinstance(current, Shape):
        declared = current.keys.get(key)
        if declared is None:
            return Severity.MUST if current.open else Severity.SHOULD
        return Severity.MUST if declared.required else Severity.SHOULD
    return Severity.MUST


def sources() -> Sequence[str]:
    """Every source the table cites (for the docs and the tests)."""
    found: list[str] = [header.source for header in HEADERS.values()]
    seen: set[int] = set()

    def walk(schema: Schema) -> None:
        if id(schema) in seen:
            return
        seen.add(id(schema))
        if isinstance(schema, Shape):
            for key in schema.keys.values():
                found.append(key.source)
                walk(key.schema)
        elif isinstance(schema, ListOf):
            walk(schema.item)
        elif isinstance(schema, MapOf):
            walk(schema.value)
        elif isinstance(schema, TupleOf):
            for item in schema.items:
                walk(item)
        elif isinstance(schema, Echoed):
            found.append(schema.source)
            for key in schema.read.values():
                found.append(key.source)

    for route in ROUTES:
        walk(route.schema)
    for schema in EVENTS.values():
        walk(schema)
    return found
