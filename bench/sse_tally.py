"""Count SSE events and token events in raw response bytes, cheaply.

The load generator must not be the bottleneck it measures, so this is not a full SSE parser
(the suite has a strict one in ``conformance.sse``): it splits the byte stream on blank lines,
reads the ``event:`` and ``data:`` fields of each block and only decodes the JSON of events that
may carry a token. Comments (``: heartbeat``) and blocks without data are not events.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import orjson

TokenRule = Callable[[str, bytes], bool]
"""Says whether an event (name, data) carries a token of generated text."""

_DEFAULT_EVENT_NAME = "message"


def message_has_text(content: object) -> bool:
    """Whether message content (a string or a list of content blocks) holds any text."""
    if isinstance(content, str):
        return content != ""
    if isinstance(content, list):
        # Content blocks: a token is any non-empty text part.
        for part in content:
            if isinstance(part, str) and part:
                return True
            if isinstance(part, dict) and isinstance(part.get("text"), str) and part["text"]:
                return True
    return False


def langgraph_token(name: str, data: bytes) -> bool:
    """A LangGraph API event carrying generated text.

    ``messages`` (the ``messages-tuple`` mode: ``[chunk, metadata]``) and ``messages/partial``
    (the ``messages`` mode: ``[accumulated message, ...]``) with non-empty content; a subgraph
    suffix (``messages|ns``) is ignored.
    """
    base_name = name.split("|", 1)[0]
    if base_name not in ("messages", "messages/partial"):
        return False
    try:
        payload = orjson.loads(data)
    except orjson.JSONDecodeError:
        return False
    if not isinstance(payload, list) or not payload or not isinstance(payload[0], dict):
        return False
    return message_has_text(payload[0].get("content"))


def openai_token(name: str, data: bytes) -> bool:
    """An OpenAI chat-completion chunk whose first choice's delta has non-empty content."""
    if data == b"[DONE]":
        return False
    try:
        payload = orjson.loads(data)
    except orjson.JSONDecodeError:
        return False
    if not isinstance(payload, dict):
        return False
    choices = payload.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        return False
    delta = choices[0].get("delta")
    return isinstance(delta, dict) and message_has_text(delta.get("content"))


@dataclass(slots=True)
class StreamTally:
    """What one stream delivered, with times in seconds since the request was sent."""

    events: int = 0
    token_events: int = 0
    first_event_at: float | None = None
    first_token_at: float | None = None
    last_token_at: float | None = None
    error_events: int = 0
    first_error: str | None = None
    """The data of the first ``error`` event, cut short."""
    kept_data: list[bytes] = field(default_factory=list)
    """Every event's data, only when the tally was asked to keep it."""


class SseTally:
    """Incremental: ``feed(chunk, at)`` as bytes arrive, ``close()`` at the end of the body.

    An unterminated last block is dropped at ``close()`` (as a browser's EventSource does), so
    a stream cut mid-event does not count a half event.
    """

    def __init__(self, token_rule: TokenRule, *, keep_data: bool = False) -> None:
        self._token_rule = token_rule
        self._keep_data = keep_data
        self._pending = b""
        self._last_at = 0.0
        self.tally = StreamTally()

    def feed(self, chunk: bytes, at: float) -> None:
        self._last_at = at
        pending = self._pending + chunk
        # A chunk may end between the CR and the LF of a CRLF: keep the CR for the next chunk.
        held = b""
        if pending.endswith(b"\r"):
            pending, held = pending[:-1], b"\r"
        normalised = pending.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        blocks = normalised.split(b"\n\n")
        self._pending = blocks.pop() + held
        for block in blocks:
            self._take_block(block, at)

    def close(self) -> StreamTally:
        # A CR held back at the end is a line ending after all: the stream is over.
        normalised = self._pending.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        self._pending = b""
        blocks = normalised.split(b"\n\n")
        blocks.pop()
        for block in blocks:
            self._take_block(block, self._last_at)
        return self.tally

    def _take_block(self, block: bytes, at: float) -> None:
        name = _DEFAULT_EVENT_NAME
        data_lines: list[bytes] = []
        for line in block.split(b"\n"):
            if not line or line.startswith(b":"):
                continue
            field_name, _, value = line.partition(b":")
            if value.startswith(b" "):
                value = value[1:]
            if field_name == b"data":
                data_lines.append(value)
            elif field_name == b"event":
                name = value.decode("utf-8", errors="replace") or _DEFAULT_EVENT_NAME
        if not data_lines:
            return
        data = data_lines[0] if len(data_lines) == 1 else b"\n".join(data_lines)
        tally = self.tally
        tally.events += 1
        if tally.first_event_at is None:
            tally.first_event_at = at
        if self._keep_data:
            tally.kept_data.append(data)
        if name == "error":
            tally.error_events += 1
            if tally.first_error is None:
                tally.first_error = data[:300].decode("utf-8", errors="replace")
        elif self._token_rule(name, data):
            tally.token_events += 1
            if tally.first_token_at is None:
                tally.first_token_at = at
            tally.last_token_at = at
