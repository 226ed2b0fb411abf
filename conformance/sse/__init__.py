"""A strict, incremental, byte-level Server-Sent Events parser (WHATWG HTML, "event stream
interpretation") that also reports how the stream was framed, for the framing rules."""

from conformance.sse.parser import (
    FramingDiagnostic,
    ParsedStream,
    SSEComment,
    SSEEvent,
    SSEParser,
    parse_stream,
)

__all__ = [
    "FramingDiagnostic",
    "ParsedStream",
    "SSEComment",
    "SSEEvent",
    "SSEParser",
    "parse_stream",
]
