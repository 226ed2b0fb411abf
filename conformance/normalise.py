"""Volatile values to stable placeholders, so two recordings of one scenario can be compared
and a target's own transcript can be snapshotted.

Replaced, consistently across the whole transcript (paths, headers, request and response
bodies, SSE ids), by placeholders numbered in order of first appearance:

- ``<uuid:N>``: any UUID (thread, run, assistant, checkpoint, task, message ids; inside
  strings too: ``lc_run--<uuid:3>``, ``agent:<uuid:5>``, ``/threads/<uuid:1>/runs/<uuid:2>``);
- ``<hex:N>``: 32-hex-digit ids (interrupt ids);
- ``<id:N>``: ids in a format of the server's own: ULIDs, and any string a response gives
  under an ``id``/``*_id`` key (long, with a digit) that is no uuid, wherever it appears;
- ``<event_id:N>``: SSE ``id:`` values and the ``Last-Event-ID`` sent (``-1`` is kept).

Replaced by unnumbered placeholders (their value carries no identity):
``<datetime>`` (ISO timestamps), ``<timestamp>`` (numbers under time keys), ``<date>`` (the date header), ``<content-length>``,
``<llm_url>`` (a loopback ``http://host:port/v1``, the fake LLM), ``http://<host>`` (other
loopback host:port), ``<api_url>`` (``langgraph_api_url``), ``<version>`` (string values of
keys ending in ``version``, and any ``1.2.3``-like string value: package versions are not
protocol values), ``<channel_version>`` (checkpoint channel versions, which carry
a random suffix).

Also: header names lower-cased; JSON bodies and SSE data re-serialised canonically (keys
sorted, compact, non-ASCII kept), so key order and whitespace never show; an SSE body becomes
one chunk per event (heartbeat comments dropped: their number is timing); chunk times zeroed.
``null`` ids are kept as they are: ``compare`` accepts null for an id only where langgraph
dev itself sends null.

Pure: no I/O, never raises; a body it cannot parse keeps its text, placeholders substituted.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from conformance.sse import parse_stream
from conformance.transcript import (
    Chunk,
    Exchange,
    RecordedRequest,
    RecordedResponse,
    Transcript,
)

NUMBERED_KINDS: tuple[str, ...] = ("uuid", "hex", "id", "event_id")
PLACEHOLDER = re.compile(
    r"<(?P<kind>uuid|hex|id|event_id):(?P<number>[0-9]+)>"
    r"|<(?P<plain>datetime|timestamp|date|content-length|llm_url|host|api_url|version|channel_version)>"
)
"""Any placeholder this module writes; ``number`` is set for the numbered kinds."""

_LLM_URL = re.compile(
    r"https?://(?:127\.0\.0\.1|localhost|\[::1\]|0\.0\.0\.0)(?::[0-9]+)?/v1\b/?", re.IGNORECASE
)
_LOOPBACK_HOST = re.compile(
    r"(?<=://)(?:127\.0\.0\.1|localhost|\[::1\]|0\.0\.0\.0)(?::[0-9]+)?", re.IGNORECASE
)
_DATETIME = re.compile(
    r"\b[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)?"
    r"(?:Z|[+-][0-9]{2}:?[0-9]{2})?"
)
_UUID = re.compile(
    r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b"
)
_CHANNEL_VERSION = re.compile(r"\b[0-9]{32}\.[0-9]+(?:\.[0-9]+)?\b")
_HEX32 = re.compile(r"\b[0-9a-f]{32}\b")
_ULID = re.compile(r"\b[0-9A-HJKMNP-TV-Z]{26}\b")
_OPAQUE_ID = re.compile(r"^(?=.*[0-9])[A-Za-z0-9][A-Za-z0-9_\-.:]{15,}$")
"""An id value that is neither a uuid nor 32 hex digits: long, with a digit, no spaces."""
_VERSION_STRING = re.compile(r"^v?[0-9]{1,4}\.[0-9]{1,4}\.[0-9]{1,6}(?:[-.+][0-9A-Za-z.\-+]*)?$")
_REPLAY_EVERYTHING = "-1"

_HEADER_PLACEHOLDERS: dict[str, str] = {
    "date": "<date>",
    "content-length": "<content-length>",
}
_KEY_PLACEHOLDERS: dict[str, str] = {
    "langgraph_api_url": "<api_url>",
}
_TIME_KEY = re.compile(r"(?:^|_)(?:time|timestamp)(?:_|$)|_at$")
"""Keys whose numeric value is a clock reading (``__request_start_time_ms__``)."""


@dataclass(slots=True)
class Numbering:
    """Placeholder numbers by kind, in order of first appearance, for one transcript; and the
    opaque ids (found under id keys) to replace wherever they appear."""

    _numbers: dict[str, dict[str, int]] = field(default_factory=dict)
    opaque_ids: re.Pattern[str] | None = None

    def placeholder(self, kind: str, value: str) -> str:
        numbers = self._numbers.setdefault(kind, {})
        number = numbers.setdefault(value, len(numbers) + 1)
        return f"<{kind}:{number}>"


def normalise_text(text: str, numbering: Numbering) -> str:
    """Every volatile value inside a string replaced."""
    text = _LLM_URL.sub("<llm_url>", text)
    text = _LOOPBACK_HOST.sub("<host>", text)
    text = _DATETIME.sub("<datetime>", text)
    text = _UUID.sub(lambda match: numbering.placeholder("uuid", match.group().lower()), text)
    text = _CHANNEL_VERSION.sub("<channel_version>", text)
    text = _HEX32.sub(lambda match: numbering.placeholder("hex", match.group()), text)
    text = _ULID.sub(lambda match: numbering.placeholder("id", match.group()), text)
    if numbering.opaque_ids is not None:
        text = numbering.opaque_ids.sub(
            lambda match: numbering.placeholder("id", match.group()), text
        )
    return text


def normalise_json(value: Any, numbering: Numbering, key: str | None = None) -> Any:
    """A parsed JSON value with every volatile string (keys included) replaced."""
    if key is not None:
        lowered = key.lower()
        if lowered in _KEY_PLACEHOLDERS and value is not None:
            return _KEY_PLACEHOLDERS[lowered]
        if lowered.endswith("version") and isinstance(value, str):
            return "<version>"
        if isinstance(value, str) and _VERSION_STRING.match(value):
            return "<version>"
        if _TIME_KEY.search(lowered.strip("_")) and _is_number(value):
            return "<timestamp>"
    if isinstance(value, str):
        return normalise_text(value, numbering)
    if isinstance(value, list):
        return [normalise_json(item, numbering) for item in value]
    if isinstance(value, dict):
        normalised: dict[str, Any] = {}
        for item_key, item in value.items():
            new_key = normalise_text(str(item_key), numbering)
            normalised[new_key] = normalise_json(item, numbering, str(item_key))
        return normalised
    return value


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def canonical_json(value: Any) -> str:
    """One spelling per JSON value: sorted keys, no spaces, non-ASCII as is."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _normalise_event_id(value: str, numbering: Numbering) -> str:
    value = value.strip()
    if value == _REPLAY_EVERYTHING or not value:
        return value
    return numbering.placeholder("event_id", value)


def _normalise_header(name: str, value: str, numbering: Numbering) -> tuple[str, str]:
    name = name.lower()
    if name in _HEADER_PLACEHOLDERS:
        return name, _HEADER_PLACEHOLDERS[name]
    if name == "last-event-id":
        return name, _normalise_event_id(value, numbering)
    return name, normalise_text(value, numbering)


def _normalise_data(data: str, numbering: Numbering) -> str:
    try:
        parsed = json.loads(data)
    except ValueError:
        return normalise_text(data, numbering)
    return canonical_json(normalise_json(parsed, numbering))


def _sse_chunks(body: bytes, numbering: Numbering) -> list[Chunk]:
    chunks = []
    for event in parse_stream(body).events:
        lines = [f"event: {normalise_text(event.event, numbering)}"]
        lines += [f"data: {line}" for line in _normalise_data(event.data, numbering).split("\n")]
        if event.id is not None:
            lines.append(f"id: {_normalise_event_id(event.id, numbering)}")
        chunks.append(Chunk(at_ms=0.0, data=("\n".join(lines) + "\n\n").encode("utf-8")))
    return chunks


def _body_chunks(body: bytes, is_event_stream: bool, numbering: Numbering) -> list[Chunk]:
    if not body:
        return []
    if is_event_stream:
        return _sse_chunks(body, numbering)
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return [Chunk(at_ms=0.0, data=body)]
    try:
        # /runs/wait and /join send "\n" while they wait: whitespace around JSON is noise.
        parsed = json.loads(text)
    except ValueError:
        return [Chunk(at_ms=0.0, data=normalise_text(text, numbering).encode("utf-8"))]
    return [Chunk(at_ms=0.0, data=canonical_json(normalise_json(parsed, numbering)).encode())]


def _is_event_stream(headers: list[tuple[str, str]]) -> bool:
    return any(
        name.lower() == "content-type" and value.lower().startswith("text/event-stream")
        for name, value in headers
    )


def _normalise_exchange(exchange: Exchange, numbering: Numbering) -> Exchange:
    request = exchange.request
    response = exchange.response
    request_headers = [_normalise_header(k, v, numbering) for k, v in request.headers]
    normalised_request = RecordedRequest(
        method=request.method.upper(),
        path=normalise_text(request.path, numbering),
        headers=request_headers,
        body=normalise_json(request.body, numbering),
    )
    response_headers = [_normalise_header(k, v, numbering) for k, v in response.headers]
    chunks = _body_chunks(response.body, _is_event_stream(response.headers), numbering)
    normalised_response = RecordedResponse(
        status=response.status,
        headers=response_headers,
        chunks=chunks,
        closed_by=response.closed_by,
    )
    return Exchange(step=exchange.step, request=normalised_request, response=normalised_response)


def _opaque_ids(transcript: Transcript) -> re.Pattern[str] | None:
    """Ids the server chose in a format of its own: string values of ``id``/``*_id`` keys in
    response bodies and events that no other pattern recognises."""
    found: set[str] = set()

    def walk(value: Any, key: str = "") -> None:
        if isinstance(value, dict):
            for item_key, item in value.items():
                walk(item, str(item_key))
        elif isinstance(value, list):
            for item in value:
                walk(item, key)
        elif (
            isinstance(value, str)
            and (key == "id" or key.endswith("_id"))
            and _OPAQUE_ID.match(value)
            and not _UUID.search(value)
            and not _HEX32.search(value)
            and not _ULID.search(value)
        ):
            found.add(value)

    for exchange in transcript.exchanges:
        response = exchange.response
        if _is_event_stream(response.headers):
            datas = [event.data for event in parse_stream(response.body).events]
        else:
            datas = [response.body.decode("utf-8", errors="replace")]
        for data in datas:
            try:
                walk(json.loads(data))
            except ValueError:
                continue
    if not found:
        return None
    alternatives = "|".join(re.escape(value) for value in sorted(found, key=len, reverse=True))
    return re.compile(rf"(?<![A-Za-z0-9_\-])(?:{alternatives})(?![A-Za-z0-9_\-])")


def normalise(transcript: Transcript) -> Transcript:
    """A copy of ``transcript`` with every volatile value replaced by its placeholder."""
    numbering = Numbering(opaque_ids=_opaque_ids(transcript))
    return Transcript(
        scenario=transcript.scenario,
        description=transcript.description,
        recorded_with=dict(transcript.recorded_with),
        exchanges=[_normalise_exchange(exchange, numbering) for exchange in transcript.exchanges],
    )


def placeholder_tokens(text: str) -> list[str | tuple[str, int | None]]:
    """A normalised string split into literal text and placeholders ``(kind, number)``
    (number None for the unnumbered kinds), for comparing two normalised strings."""
    tokens: list[str | tuple[str, int | None]] = []
    position = 0
    for match in PLACEHOLDER.finditer(text):
        if match.start() > position:
            tokens.append(text[position : match.start()])
        if match.group("kind"):
            tokens.append((match.group("kind"), int(match.group("number"))))
        else:
            tokens.append((match.group("plain"), None))
        position = match.end()
    if position < len(text):
        tokens.append(text[position:])
    return tokens
