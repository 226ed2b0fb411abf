"""Bytes to SSE events, exactly as the WHATWG HTML spec's "event stream interpretation" says.

The parser is incremental (``feed`` any slicing of the stream, ``close`` at the end) and gives
the same events whatever the slicing: a stream fed one byte at a time yields what it yields
fed whole. Beyond the events a browser would dispatch it keeps what the framing rules need:
each event's byte offset, raw bytes and line endings, the comments (heartbeats), and a
``FramingDiagnostic`` for everything a strict reader notices (a stripped BOM, invalid UTF-8,
an event name without data, an id with NUL, a bogus retry, an unterminated last event).

It never raises on input: malformed bytes are a diagnostic, never an exception.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field, replace
from enum import StrEnum

_BOM = b"\xef\xbb\xbf"
_LINE_BREAK = re.compile(rb"[\r\n]")
_DIGITS = re.compile(r"[0-9]+")


class LineEnding(StrEnum):
    CRLF = "\r\n"
    LF = "\n"
    CR = "\r"


class DiagnosticCode(StrEnum):
    BOM_STRIPPED = "bom-stripped"
    """A leading UTF-8 byte order mark was removed (legal: only the first one is)."""
    INVALID_UTF8 = "invalid-utf8"
    """A line is not valid UTF-8; decoded with U+FFFD replacements as a browser would."""
    EVENT_WITHOUT_DATA = "event-without-data"
    """A block had an ``event:`` field but no ``data:``: a client dispatches nothing."""
    ID_WITH_NUL = "id-with-nul"
    """An ``id:`` value contains U+0000 and is ignored."""
    INVALID_RETRY = "invalid-retry"
    """A ``retry:`` value that is not ASCII digits is ignored."""
    UNKNOWN_FIELD = "unknown-field"
    """A field other than event, data, id, retry: ignored (legal)."""
    UNTERMINATED_EVENT = "unterminated-event"
    """The stream ended inside an event (no blank line after it): the event is dropped."""
    UNTERMINATED_LINE = "unterminated-line"
    """The stream ended inside a line that was not part of an event (e.g. a comment)."""
    DATA_AFTER_CLOSE = "data-after-close"
    """``feed`` was called after ``close``: those bytes were ignored."""


@dataclass(frozen=True, slots=True)
class FramingDiagnostic:
    code: DiagnosticCode
    offset: int
    """Byte offset in the stream as fed (a BOM counts) where the problem starts."""
    message: str


@dataclass(frozen=True, slots=True)
class SSEEvent:
    """One dispatched event."""

    index: int
    """0-based position among the dispatched events of the stream."""
    event: str
    """The event type; ``message`` when the block had no (or an empty) ``event:`` field."""
    data: str
    """The data buffer, lines joined by LF, the final LF removed."""
    last_event_id: str
    """The last event id as a client would report it (persists across events until changed)."""
    id: str | None
    """The ``id:`` value this event's own block set (the last one), or None when it set none."""
    retry: int | None
    """A valid ``retry:`` value given in this event's block, or None."""
    offset: int
    """Byte offset of the first byte of the block (its first line, comments included)."""
    raw: bytes
    """The block's bytes as received, including the blank line that dispatched it."""
    line_endings: tuple[LineEnding, ...]
    """The line ending of each line of the block, blank line included."""
    has_event_field: bool = True
    """Whether the block named its type with an ``event:`` field."""


@dataclass(frozen=True, slots=True)
class SSEComment:
    offset: int
    text: str
    """What followed the colon (leading space kept: ``": heartbeat"`` gives ``" heartbeat"``)."""


@dataclass(frozen=True, slots=True)
class ParsedStream:
    """Everything ``parse_stream`` learnt from a complete byte stream."""

    events: tuple[SSEEvent, ...]
    comments: tuple[SSEComment, ...]
    diagnostics: tuple[FramingDiagnostic, ...]
    line_endings: dict[LineEnding, int]
    """How many lines ended with each kind of line break."""


@dataclass(slots=True)
class _Block:
    """The event being built between two blank lines."""

    offset: int = -1
    raw: bytearray = field(default_factory=bytearray)
    endings: list[LineEnding] = field(default_factory=list)
    data_lines: list[str] = field(default_factory=list)
    event_type: str = ""
    has_event_field: bool = False
    own_id: str | None = None
    retry: int | None = None
    has_fields: bool = False
    """Any non-comment line seen: an unterminated block is then an event lost."""


class SSEParser:
    """Strict incremental SSE parser. ``feed(bytes) -> new events``, ``close() -> last events``.

    A CR ends its line at once, even as the last byte fed so far: a server that pauses after
    an event framed with CR alone must not have that event held back until its next write. An
    LF that then arrives right after the CR is the rest of a CRLF and is skipped, so a CRLF
    split across two writes is still one line ending, never two (``line_endings`` counts it as
    CRLF). Only the event that such a split CRLF dispatched keeps a ``raw`` ending in CR alone:
    it was dispatched before its LF arrived (``parse_stream``, which sees the whole stream,
    gives it its LF back).
    """

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._buffer_offset = 0
        """Stream offset of ``_buffer[0]``."""
        self._scan_from = 0
        """Where in the buffer no line break has been found yet (keeps one-byte feeds linear)."""
        self._after_cr = False
        """The last line ended with a CR at the very end of what was fed: an LF first in the
        next bytes completes that CRLF."""
        self._bom_decided = False
        self._closed = False
        self._last_event_id = ""
        self._block = _Block()
        self._event_count = 0
        self.comments: list[SSEComment] = []
        self.diagnostics: list[FramingDiagnostic] = []
        self.line_endings: Counter[LineEnding] = Counter()
        self.reconnection_time: int | None = None

    @property
    def last_event_id(self) -> str:
        return self._last_event_id

    def feed(self, data: bytes) -> list[SSEEvent]:
        """Take the next bytes of the stream; return the events they completed."""
        if self._closed:
            if data:
                self._diagnose(
                    DiagnosticCode.DATA_AFTER_CLOSE,
                    self._buffer_offset,
                    f"{len(data)} byte(s) fed after close were ignored",
                )
            return []
        self._buffer += data
        if not self._bom_decided and not self._decide_bom(final=False):
            return []
        return self._process_lines(final=False)

    def close(self) -> list[SSEEvent]:
        """End of stream: process what is left; an unterminated event is dropped (and said)."""
        if self._closed:
            return []
        if not self._bom_decided:
            self._decide_bom(final=True)
        events = self._process_lines(final=True)
        self._closed = True
        if self._buffer:
            # A last line without a line break: per the spec it is never processed.
            text = bytes(self._buffer).decode("utf-8", errors="replace")
            if self._block.has_fields or not text.startswith(":"):
                self._block.has_fields = True
            else:
                self._diagnose(
                    DiagnosticCode.UNTERMINATED_LINE,
                    self._buffer_offset,
                    f"the stream ended inside a line without a line break: {text[:60]!r}",
                )
        if self._block.has_fields:
            offset = self._block.offset if self._block.offset >= 0 else self._buffer_offset
            self._diagnose(
                DiagnosticCode.UNTERMINATED_EVENT,
                offset,
                "the stream ended inside an event (no blank line after it): a client drops it",
            )
        self._buffer.clear()
        self._block = _Block()
        return events

    # --- internals ---------------------------------------------------------------------------

    def _diagnose(self, code: DiagnosticCode, offset: int, message: str) -> None:
        self.diagnostics.append(FramingDiagnostic(code=code, offset=offset, message=message))

    def _decide_bom(self, *, final: bool) -> bool:
        """True once the leading bytes are known to be or not be a BOM."""
        if not final and len(self._buffer) < len(_BOM) and _BOM.startswith(bytes(self._buffer)):
            return False
        self._bom_decided = True
        if self._buffer.startswith(_BOM):
            del self._buffer[: len(_BOM)]
            self._diagnose(DiagnosticCode.BOM_STRIPPED, 0, "a leading UTF-8 BOM was stripped")
            self._buffer_offset = len(_BOM)
        return True

    def _process_lines(self, *, final: bool) -> list[SSEEvent]:
        events: list[SSEEvent] = []
        while True:
            if self._after_cr and self._buffer:
                self._after_cr = False
                if self._buffer[0] == 0x0A:
                    self._complete_crlf()
            match = _LINE_BREAK.search(self._buffer, self._scan_from)
            if match is None:
                self._scan_from = len(self._buffer)
                return events
            start = match.start()
            if self._buffer[start] == 0x0A:
                ending, length = LineEnding.LF, 1
            elif start + 1 < len(self._buffer):
                crlf = self._buffer[start + 1] == 0x0A
                ending, length = (LineEnding.CRLF, 2) if crlf else (LineEnding.CR, 1)
            else:
                # A CR as the last byte so far ends the line now; an LF may still follow.
                ending, length = LineEnding.CR, 1
                self._after_cr = not final
            line = bytes(self._buffer[:start])
            raw = bytes(self._buffer[: start + length])
            offset = self._buffer_offset
            del self._buffer[: start + length]
            self._buffer_offset += start + length
            self._scan_from = 0
            self.line_endings[ending] += 1
            event = self._process_line(line, raw, ending, offset)
            if event is not None:
                events.append(event)

    def _complete_crlf(self) -> None:
        """The LF of a CRLF whose CR ended the previous feed: skip it, and count the line that
        CR ended as CRLF (in its block too, when the block is still open)."""
        del self._buffer[:1]
        self._buffer_offset += 1
        self.line_endings[LineEnding.CR] -= 1
        if not self.line_endings[LineEnding.CR]:
            del self.line_endings[LineEnding.CR]
        self.line_endings[LineEnding.CRLF] += 1
        block = self._block
        if block.endings:
            block.endings[-1] = LineEnding.CRLF
            block.raw += b"\n"

    def _process_line(
        self, line: bytes, raw: bytes, ending: LineEnding, offset: int
    ) -> SSEEvent | None:
        block = self._block
        if block.offset < 0:
            block.offset = offset
        block.raw += raw
        block.endings.append(ending)
        if not line:
            return self._dispatch()
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError:
            text = line.decode("utf-8", errors="replace")
            self._diagnose(
                DiagnosticCode.INVALID_UTF8,
                offset,
                f"the line is not valid UTF-8 (decoded with replacements): {text[:60]!r}",
            )
        if text.startswith(":"):
            self.comments.append(SSEComment(offset=offset, text=text[1:]))
            return None
        block.has_fields = True
        name, colon, value = text.partition(":")
        if colon and value.startswith(" "):
            value = value[1:]
        self._process_field(name, value, offset)
        return None

    def _process_field(self, name: str, value: str, offset: int) -> None:
        block = self._block
        if name == "event":
            block.event_type = value
            block.has_event_field = True
        elif name == "data":
            block.data_lines.append(value)
        elif name == "id":
            if "\x00" in value:
                self._diagnose(
                    DiagnosticCode.ID_WITH_NUL, offset, f"id {value!r} contains NUL: ignored"
                )
            else:
                self._last_event_id = value
                block.own_id = value
        elif name == "retry":
            if _DIGITS.fullmatch(value):
                block.retry = int(value)
                self.reconnection_time = block.retry
            else:
                self._diagnose(
                    DiagnosticCode.INVALID_RETRY,
                    offset,
                    f"retry {value!r} is not ASCII digits: ignored",
                )
        else:
            self._diagnose(DiagnosticCode.UNKNOWN_FIELD, offset, f"unknown field {name!r}: ignored")

    def _dispatch(self) -> SSEEvent | None:
        block = self._block
        self._block = _Block()
        if not block.data_lines:
            if block.has_event_field:
                self._diagnose(
                    DiagnosticCode.EVENT_WITHOUT_DATA,
                    block.offset,
                    f"event {block.event_type!r} has no data: a client dispatches nothing",
                )
            return None
        event = SSEEvent(
            index=self._event_count,
            event=block.event_type or "message",
            data="\n".join(block.data_lines),
            last_event_id=self._last_event_id,
            id=block.own_id,
            retry=block.retry,
            offset=block.offset,
            raw=bytes(block.raw),
            line_endings=tuple(block.endings),
            has_event_field=block.has_event_field,
        )
        self._event_count += 1
        return event


def parse_stream(chunks: bytes | list[bytes] | tuple[bytes, ...]) -> ParsedStream:
    """Parse a whole stream (one bytes object, or the network chunks in order). The result
    does not depend on how the stream was cut into chunks."""
    parser = SSEParser()
    events: list[SSEEvent] = []
    pieces = (
        [bytes(chunks)] if isinstance(chunks, bytes | bytearray) else [bytes(c) for c in chunks]
    )
    for chunk in pieces:
        events += parser.feed(chunk)
    events += parser.close()
    return ParsedStream(
        events=tuple(_with_split_crlf(events, b"".join(pieces))),
        comments=tuple(parser.comments),
        diagnostics=tuple(parser.diagnostics),
        line_endings=dict(parser.line_endings),
    )


def _with_split_crlf(events: list[SSEEvent], stream: bytes) -> list[SSEEvent]:
    """Give back the LF of a dispatching CRLF that arrived in the write after its CR."""
    fixed = []
    for event in events:
        end = event.offset + len(event.raw)
        if event.raw.endswith(b"\r") and stream[end : end + 1] == b"\n":
            event = replace(
                event,
                raw=event.raw + b"\n",
                line_endings=(*event.line_endings[:-1], LineEnding.CRLF),
            )
        fixed.append(event)
    return fixed
