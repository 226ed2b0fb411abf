"""The Server-Sent Events framing ``langgraph dev`` uses, byte for byte.

Every line ends in CRLF; fields come in the order ``event:``, ``data:``, ``id:`` (the id only
for resumable runs); a blank line ends the event. Heartbeats are SSE comments.
"""

from __future__ import annotations

HEARTBEAT = b": heartbeat\r\n\r\n"
CONTENT_TYPE = "text/event-stream; charset=utf-8"


def encode_event(event: str, data: bytes, event_id: str | None = None) -> bytes:
    """One SSE event; ``data`` must already be one line of JSON."""
    if event_id is None:
        return b"event: " + event.encode() + b"\r\ndata: " + data + b"\r\n\r\n"
    return (
        b"event: "
        + event.encode()
        + b"\r\ndata: "
        + data
        + b"\r\nid: "
        + event_id.encode()
        + b"\r\n\r\n"
    )
