"""What the check functions look at: one stream, parsed once, with what its request asked for.

``StreamInput`` is the engine's input (the request, the response, and facts learnt elsewhere
such as the run's status fetched after the stream closed); ``StreamContext`` is the parsed,
derived view every check receives; ``Violation`` is what a check returns. Building a context
never raises: anything malformed is left for a check to report.
"""

from __future__ import annotations

import bisect
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any
from urllib.parse import parse_qs, urlsplit

from conformance.sse import ParsedStream, SSEEvent, parse_stream

DEFAULT_STREAM_MODES: tuple[str, ...] = ("values",)
"""What langgraph dev streams when a run names no stream_mode."""

_DELAY_DIRECTIVE = re.compile(r"\bdelay:(?P<ms>[0-9]+)")
"""The fake LLM's ``delay:MS``: it waits MS ms before each chunk it streams."""
_RUN_IN_PATH = re.compile(r"/runs/(?P<run>[^/?#]+)")
_RUN_STREAM_PATH = re.compile(r"/runs/(?P<run>[^/?#]+)/stream$")


@dataclass(frozen=True, slots=True)
class StreamInput:
    """One streaming exchange as the engine sees it."""

    method: str
    path: str
    """Path and query as sent."""
    status: int
    response_headers: Sequence[tuple[str, str]]
    chunks: Sequence[bytes]
    """The response body as received, in network reads (or one bytes object)."""
    request_body: Any = None
    """The JSON body sent (stream_mode, stream_subgraphs, stream_resumable...)."""
    request_headers: Sequence[tuple[str, str]] = ()
    closed_by: str = "server"
    """``server``, ``client``, ``timeout`` or ``broken`` (see ``RecordedResponse``)."""
    run_request_body: Any = None
    """For a join (GET of a run's stream): the body of the request that created the run,
    when known; it says which modes, subgraphs and resumability the stream carries."""
    run_status_after: str | None = None
    """The run's status as fetched right after the stream closed, when known."""
    chunk_times_ms: Sequence[float] = ()
    """When each chunk arrived (ms since the request), parallel to ``chunks``; empty when
    unknown."""
    live_model: bool = False
    """The run's model is a real one (``--llm live``): its tokens take real time to come."""


@dataclass(frozen=True, slots=True)
class Violation:
    """What a check found; the engine adds the severity and location from the catalogue."""

    rule: str
    message: str
    event_index: int | None = None
    pointer: str = ""
    expected: Any = None
    actual: Any = None


NOT_JSON: Any = object()
"""The payload of an event whose data is not JSON."""


@dataclass(frozen=True, slots=True)
class EventView:
    """One dispatched event with its data decoded."""

    event: SSEEvent
    payload: Any
    """The decoded JSON data, or ``NOT_JSON``."""

    @property
    def name(self) -> str:
        return self.event.event

    @property
    def base_name(self) -> str:
        """The name without its ``|namespace`` suffix."""
        return self.event.event.split("|", 1)[0]

    @property
    def is_json(self) -> bool:
        return self.payload is not NOT_JSON

    @property
    def index(self) -> int:
        return self.event.index


def _decode(data: str) -> Any:
    try:
        return json.loads(data)
    except ValueError:
        return NOT_JSON


def _text_of(content: Any) -> str:
    """A message content's text: a string, or the text parts of a list of parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            str(part.get("text", "")) if isinstance(part, Mapping) else part
            for part in content
            if isinstance(part, str | Mapping)
        )
    return ""


def _as_bool(value: Any) -> bool:
    return value is True


@dataclass
class StreamContext:
    """One stream parsed once; not slotted, so derived facts can be cached."""

    source: StreamInput
    parsed: ParsedStream = field(init=False)
    events: list[EventView] = field(init=False)
    headers: dict[str, str] = field(init=False)
    """Response headers, names lower-cased (the first value of each)."""
    request_headers: dict[str, str] = field(init=False)

    def __post_init__(self) -> None:
        chunks = self.source.chunks
        self.parsed = parse_stream(
            bytes(chunks) if isinstance(chunks, bytes | bytearray) else list(chunks)
        )
        self.events = [EventView(event, _decode(event.data)) for event in self.parsed.events]
        self.headers = {}
        for name, value in self.source.response_headers:
            self.headers.setdefault(name.lower(), value)
        self.request_headers = {}
        for name, value in self.source.request_headers:
            self.request_headers.setdefault(name.lower(), value)

    # --- what kind of stream ----------------------------------------------------------------

    @property
    def plain_path(self) -> str:
        return urlsplit(self.source.path).path

    @property
    def creates_run(self) -> bool:
        """A POST that starts a run and streams it (``/runs/stream``, ``/threads/x/runs/stream``)."""
        return self.source.method.upper() == "POST" and self.plain_path.endswith("/runs/stream")

    @property
    def is_join(self) -> bool:
        """A GET of an existing run's stream."""
        return self.source.method.upper() == "GET" and bool(
            _RUN_STREAM_PATH.search(self.plain_path)
        )

    @property
    def ended_by_server(self) -> bool:
        """The server ended the body cleanly (not the client, a timeout or a broken link)."""
        return self.source.closed_by == "server"

    @property
    def broken(self) -> bool:
        """The connection failed mid-body: what arrived is only a part of the stream."""
        return self.source.closed_by == "broken"

    # --- when events arrived -------------------------------------------------------------------

    @cached_property
    def _chunk_ends(self) -> list[int]:
        ends, total = [], 0
        for chunk in self.source.chunks:
            total += len(chunk)
            ends.append(total)
        return ends

    def arrival_ms(self, view: EventView) -> float | None:
        """When the read that completed this event arrived (ms since the request); None when
        the arrival times are unknown."""
        times = self.source.chunk_times_ms
        if not times or len(times) != len(self._chunk_ends):
            return None
        raw = view.event.raw
        # The line break that dispatched it: a CRLF's LF may have come in a later read.
        last_byte = view.event.offset + len(raw) - (2 if raw.endswith(b"\r\n") else 1)
        position = bisect.bisect_right(self._chunk_ends, last_byte)
        return times[min(position, len(times) - 1)]

    # --- what the run asked for --------------------------------------------------------------

    @property
    def run_options(self) -> Mapping[str, Any] | None:
        """The run's creation body: this request's for a new run, the creator's for a join."""
        body = self.source.request_body if self.creates_run else self.source.run_request_body
        return body if isinstance(body, Mapping) else None

    @cached_property
    def requested_modes(self) -> frozenset[str] | None:
        """The stream modes the run asked for; None when unknown (a join of an unknown run, or
        a join naming its own modes in its query)."""
        if self.is_join and "stream_mode" in parse_qs(urlsplit(self.source.path).query):
            return None
        options = self.run_options
        if options is None:
            return None
        modes = options.get("stream_mode")
        if modes is None:
            return frozenset(DEFAULT_STREAM_MODES)
        if isinstance(modes, str):
            return frozenset({modes})
        if isinstance(modes, list) and all(isinstance(mode, str) for mode in modes):
            return frozenset(modes) or frozenset(DEFAULT_STREAM_MODES)
        return None

    @property
    def subgraphs_requested(self) -> bool | None:
        options = self.run_options
        return None if options is None else _as_bool(options.get("stream_subgraphs"))

    @property
    def resumable(self) -> bool | None:
        options = self.run_options
        return None if options is None else _as_bool(options.get("stream_resumable"))

    @property
    def model_delay_ms(self) -> int | None:
        """The fake LLM's per-chunk delay this run asked for (``delay:MS`` in its last user
        message), or None."""
        options = self.run_options
        run_input = options.get("input") if options else None
        messages = run_input.get("messages") if isinstance(run_input, Mapping) else None
        if not isinstance(messages, list):
            return None
        for message in reversed(messages):
            if not isinstance(message, Mapping):
                continue
            if message.get("role", message.get("type")) not in ("user", "human"):
                continue
            match = _DELAY_DIRECTIVE.search(_text_of(message.get("content")))
            return int(match.group("ms")) if match else None
        return None

    @property
    def last_event_id_sent(self) -> str | None:
        return self.request_headers.get("last-event-id")

    # --- which run ---------------------------------------------------------------------------

    @property
    def metadata_run_id(self) -> str | None:
        if self.events and self.events[0].name == "metadata":
            payload = self.events[0].payload
            if isinstance(payload, dict) and isinstance(payload.get("run_id"), str):
                return payload["run_id"]
        return None

    @property
    def run_id(self) -> str | None:
        """The stream's run: its metadata event, else Content-Location, else the join path."""
        if self.metadata_run_id:
            return self.metadata_run_id
        match = _RUN_IN_PATH.search(self.headers.get("content-location", ""))
        if match:
            return match.group("run")
        match = _RUN_STREAM_PATH.search(self.plain_path)
        return match.group("run") if match else None
