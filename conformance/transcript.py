"""The recorded form of one scenario run: what was sent and, byte for byte, what came back.

A transcript is what the recorder writes to ``fixtures/<scenario>.json`` when it runs a
scenario against a live ``langgraph dev``, and what the checker produces when it replays the
same scenario against a target. Both sides are compared in this one shape.

Bodies are kept as the list of network chunks in arrival order, so the SSE framing is kept
byte-exact; chunks that are valid UTF-8 are stored as text (readable, diffable), others as
base64.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FORMAT_VERSION = 1


@dataclass(frozen=True, slots=True)
class Chunk:
    """One network read of a response body."""

    at_ms: float
    """Milliseconds since the request was sent."""
    data: bytes


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    method: str
    path: str
    """Path and query, ids already substituted, e.g. ``/threads/<uuid>/runs/stream``."""
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: Any = None
    """The JSON body sent, or None."""


@dataclass(frozen=True, slots=True)
class RecordedResponse:
    status: int
    headers: list[tuple[str, str]]
    """Header names lower-cased, in wire order."""
    chunks: list[Chunk]
    closed_by: str = "server"
    """Who ended the body: ``server`` (it ended normally), ``client`` (the scenario disconnected
    on purpose), ``timeout`` (the client gave up waiting) or ``broken`` (the connection failed
    mid-body, e.g. a chunked body cut short)."""

    @property
    def body(self) -> bytes:
        return b"".join(chunk.data for chunk in self.chunks)

    def header(self, name: str) -> str | None:
        """First value of a header, matched case-insensitively."""
        name = name.lower()
        for key, value in self.headers:
            if key == name:
                return value
        return None

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass(frozen=True, slots=True)
class Exchange:
    """One request and its response, named after the scenario step that made it."""

    step: str
    request: RecordedRequest
    response: RecordedResponse


@dataclass(slots=True)
class Transcript:
    scenario: str
    exchanges: list[Exchange]
    description: str = ""
    recorded_with: dict[str, str] = field(default_factory=dict)
    """Package versions of the server that produced it (for fixtures: langgraph dev's)."""

    def exchange(self, step: str) -> Exchange:
        for exchange in self.exchanges:
            if exchange.step == step:
                return exchange
        raise KeyError(f"scenario {self.scenario!r} has no step {step!r}")


def _chunk_to_json(chunk: Chunk) -> dict[str, Any]:
    try:
        return {"at_ms": round(chunk.at_ms, 1), "text": chunk.data.decode("utf-8")}
    except UnicodeDecodeError:
        return {"at_ms": round(chunk.at_ms, 1), "base64": base64.b64encode(chunk.data).decode()}


def _chunk_from_json(raw: dict[str, Any]) -> Chunk:
    data = raw["text"].encode("utf-8") if "text" in raw else base64.b64decode(raw["base64"])
    return Chunk(at_ms=float(raw["at_ms"]), data=data)


def _closed_by_to_json(closed_by: str) -> dict[str, str]:
    # Written only when unusual, so ordinary exchanges read as before.
    return {} if closed_by == "server" else {"closed_by": closed_by}


def to_json(transcript: Transcript) -> dict[str, Any]:
    return {
        "format": FORMAT_VERSION,
        "scenario": transcript.scenario,
        "description": transcript.description,
        "recorded_with": dict(sorted(transcript.recorded_with.items())),
        "exchanges": [
            {
                "step": exchange.step,
                "request": {
                    "method": exchange.request.method,
                    "path": exchange.request.path,
                    "headers": [list(pair) for pair in exchange.request.headers],
                    "body": exchange.request.body,
                },
                "response": {
                    "status": exchange.response.status,
                    "headers": [list(pair) for pair in exchange.response.headers],
                    "chunks": [_chunk_to_json(chunk) for chunk in exchange.response.chunks],
                    **_closed_by_to_json(exchange.response.closed_by),
                },
            }
            for exchange in transcript.exchanges
        ],
    }


def from_json(raw: dict[str, Any]) -> Transcript:
    if raw.get("format") != FORMAT_VERSION:
        raise ValueError(
            f"unsupported transcript format {raw.get('format')!r}, expected {FORMAT_VERSION}"
        )
    return Transcript(
        scenario=raw["scenario"],
        description=raw.get("description", ""),
        recorded_with=dict(raw.get("recorded_with", {})),
        exchanges=[
            Exchange(
                step=item["step"],
                request=RecordedRequest(
                    method=item["request"]["method"],
                    path=item["request"]["path"],
                    headers=[(k, v) for k, v in item["request"].get("headers", [])],
                    body=item["request"].get("body"),
                ),
                response=RecordedResponse(
                    status=item["response"]["status"],
                    headers=[(k, v) for k, v in item["response"]["headers"]],
                    chunks=[_chunk_from_json(chunk) for chunk in item["response"]["chunks"]],
                    closed_by=item["response"].get("closed_by", "server"),
                ),
            )
            for item in raw["exchanges"]
        ],
    )


def dump(transcript: Transcript, path: Path) -> None:
    path.write_text(
        json.dumps(to_json(transcript), indent=1, ensure_ascii=False) + "\n", encoding="utf-8"
    )


def load(path: Path) -> Transcript:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return from_json(raw)
    except (ValueError, KeyError, TypeError) as error:
        raise ValueError(f"{path}: not a valid transcript: {error}") from error
