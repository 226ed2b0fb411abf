"""Snapshots of a target's own normalised transcripts, for the pytest plugin (syrupy).

One file per scenario, ``<dir>/<scenario>.transcript.json``: readable JSON of every exchange
(request, status, headers, and the body as parsed SSE events or JSON), with volatile values
replaced by the normaliser's placeholders rather than left out, so a field that vanishes shows
up as a change. Network chunk boundaries, arrival times and heartbeat comments are transport
timing, not output, and are not part of a snapshot.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from syrupy.extensions.single_file import SingleFileSnapshotExtension, WriteMode

if TYPE_CHECKING:
    from syrupy.location import PyTestLocation
    from syrupy.types import SnapshotIndex

    from conformance.transcript import Transcript


class TranscriptSnapshotExtension(SingleFileSnapshotExtension):
    """Text snapshots named after the scenario, in one directory the plugin chooses."""

    file_extension = "transcript.json"
    _write_mode = WriteMode.TEXT
    directory: ClassVar[Path] = Path("__snapshots__") / "conformance"

    @classmethod
    def dirname(cls, *, test_location: PyTestLocation) -> str:
        return str(cls.directory)

    @classmethod
    def discovery_dirname(cls, *, test_location: PyTestLocation) -> str:
        return str(cls.directory)

    @classmethod
    def matches_test_location(
        cls, *, test_location: PyTestLocation, snapshot_location: str
    ) -> bool:
        location = Path(snapshot_location)
        scenario = cls.get_snapshot_name(test_location=test_location)
        return location.parent == cls.directory and location.name == (
            f"{scenario}.{cls.file_extension}"
        )

    @classmethod
    def get_snapshot_name(cls, *, test_location: PyTestLocation, index: SnapshotIndex = 0) -> str:
        # conformance::<scenario>::snapshot -> <scenario>
        return test_location.nodeid.split("::")[-2]


def _body(exchange: Any) -> Any:
    from conformance.sse import parse_stream

    response = exchange.response
    content_type = (response.header("content-type") or "").split(";")[0].strip()
    raw = response.body
    if content_type == "text/event-stream":
        events = parse_stream(raw).events
        return [{"event": e.event, "data": _json_or_text(e.data), "id": e.id} for e in events]
    if not raw:
        return None
    return _json_or_text(raw.decode("utf-8", errors="replace"))


def _json_or_text(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def _sorted(value: Any) -> Any:
    # Payload key order is not part of the protocol (JSON is compared parsed): fix it.
    if isinstance(value, dict):
        return {key: _sorted(value[key]) for key in sorted(value)}
    if isinstance(value, list):
        return [_sorted(item) for item in value]
    return value


def _headers(pairs: list[tuple[str, str]]) -> dict[str, str]:
    headers: dict[str, str] = {}
    for name, value in sorted(pairs):
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    return headers


def snapshot_text(transcript: Transcript) -> str:
    """The normalised transcript as stable, readable JSON text."""
    from conformance.normalise import normalise

    normalised = normalise(transcript)
    document = {
        "scenario": transcript.scenario,
        "exchanges": [
            {
                "step": exchange.step,
                "request": {
                    "method": exchange.request.method,
                    "path": exchange.request.path,
                    "body": _sorted(exchange.request.body),
                },
                "status": exchange.response.status,
                "headers": _headers(exchange.response.headers),
                "body": _sorted(_body(exchange)),
            }
            for exchange in normalised.exchanges
        ],
    }
    return json.dumps(document, indent=1, ensure_ascii=False) + "\n"
