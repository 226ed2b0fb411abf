"""The normaliser: volatile values to placeholders numbered by first appearance, consistently
across a transcript; canonical JSON and SSE; never raises."""

from __future__ import annotations

import json
from pathlib import Path

from conformance.normalise import Numbering, normalise, normalise_json, placeholder_tokens
from conformance.transcript import (
    Chunk,
    Exchange,
    RecordedRequest,
    RecordedResponse,
    Transcript,
    load,
)

RECORDINGS = Path(__file__).parent / "rules" / "recordings"
THREAD = "1f0b6c3e-0000-7000-8000-00000000aaaa"
RUN = "1F0B6C3E-1111-7000-8000-00000000BBBB"
INTERRUPT = "0123456789abcdef0123456789abcdef"


def _exchange(
    step: str,
    path: str,
    body: bytes,
    *,
    headers: list[tuple[str, str]] | None = None,
    request_headers: list[tuple[str, str]] | None = None,
    request_body: object = None,
    chunks: list[bytes] | None = None,
) -> Exchange:
    return Exchange(
        step=step,
        request=RecordedRequest(
            method="post", path=path, headers=request_headers or [], body=request_body
        ),
        response=RecordedResponse(
            status=200,
            headers=headers or [("Content-Type", "application/json")],
            chunks=[Chunk(at_ms=12.5, data=data) for data in (chunks or [body])],
        ),
    )


def _transcript(*exchanges: Exchange) -> Transcript:
    return Transcript(scenario="s", exchanges=list(exchanges))


def test_ids_numbered_by_first_appearance_across_the_transcript() -> None:
    stream = (
        f'event: metadata\r\ndata: {{"run_id": "{RUN.lower()}", "attempt": 1}}\r\nid: 17-0\r\n\r\n'
        f": heartbeat\r\n\r\n"
        f'event: values\r\ndata: {{"id": "lc_run--{RUN}", "ns": "agent:{THREAD}"}}\r\nid: 18-0\r\n\r\n'
    ).encode()
    transcript = _transcript(
        _exchange("create", "/threads", json.dumps({"thread_id": THREAD}).encode()),
        _exchange(
            "stream",
            f"/threads/{THREAD}/runs/stream",
            stream,
            headers=[
                ("Content-Type", "text/event-stream; charset=utf-8"),
                ("Location", f"/threads/{THREAD}/runs/{RUN}/stream"),
                ("Date", "Tue, 24 Nov 2026 09:00:00 GMT"),
            ],
            chunks=[stream[:20], stream[20:]],
        ),
        _exchange(
            "rejoin",
            f"/threads/{THREAD}/runs/{RUN}/stream",
            b"",
            request_headers=[("Last-Event-ID", "18-0")],
        ),
    )
    normalised = normalise(transcript)
    create, streamed, rejoin = normalised.exchanges
    assert create.response.body == b'{"thread_id":"<uuid:1>"}'
    assert streamed.request.path == "/threads/<uuid:1>/runs/stream"
    assert streamed.response.headers == [
        ("content-type", "text/event-stream; charset=utf-8"),
        ("location", "/threads/<uuid:1>/runs/<uuid:2>/stream"),
        ("date", "<date>"),
    ]
    # One chunk per event, heartbeats dropped, canonical JSON, ids numbered.
    assert [chunk.data for chunk in streamed.response.chunks] == [
        b'event: metadata\ndata: {"attempt":1,"run_id":"<uuid:2>"}\nid: <event_id:1>\n\n',
        b'event: values\ndata: {"id":"lc_run--<uuid:2>","ns":"agent:<uuid:1>"}\nid: <event_id:2>\n\n',
    ]
    assert all(chunk.at_ms == 0.0 for chunk in streamed.response.chunks)
    assert rejoin.request.path == "/threads/<uuid:1>/runs/<uuid:2>/stream"
    assert rejoin.request.headers == [("last-event-id", "<event_id:2>")]
    assert rejoin.response.chunks == []
    assert transcript.exchanges[0].response.body == json.dumps({"thread_id": THREAD}).encode()


def test_timestamps_urls_versions_and_interrupt_ids() -> None:
    value = {
        "created_at": "2026-11-24T09:06:38.485486+00:00",
        "timestamp": "2026-11-24T09:06:38Z",
        "config": {"configurable": {"__request_start_time_ms__": 1795511194771, "step": 3}},
        "base_url": "http://127.0.0.1:43311/v1",
        "langgraph_api_url": "http://127.0.0.1:36223",
        "other": "see http://localhost:8123/docs",
        "langgraph_version": "1.2.22",
        "version": 3,
        "channel_versions": {"messages": "00000000000000000000000000000002.0.2437"},
        "__interrupt__": [{"value": "ok?", "id": INTERRUPT}],
        "again": INTERRUPT,
        "tool_call_id": "call_0123456789abcdef0123456789abcdef",
    }
    assert normalise_json(value, Numbering()) == {
        "created_at": "<datetime>",
        "timestamp": "<datetime>",
        "config": {"configurable": {"__request_start_time_ms__": "<timestamp>", "step": 3}},
        "base_url": "<llm_url>",
        "langgraph_api_url": "<api_url>",
        "other": "see http://<host>/docs",
        "langgraph_version": "<version>",
        "version": 3,
        "channel_versions": {"messages": "<channel_version>"},
        "__interrupt__": [{"value": "ok?", "id": "<hex:1>"}],
        "again": "<hex:1>",
        "tool_call_id": "call_0123456789abcdef0123456789abcdef",
    }


def test_keys_are_normalised_and_nulls_kept() -> None:
    value = {THREAD: {"metadata": {}}, "id": None, "content": "Bonjour, ça va ?"}
    assert normalise_json(value, Numbering()) == {
        "<uuid:1>": {"metadata": {}},
        "id": None,
        "content": "Bonjour, ça va ?",
    }


def test_json_bodies_canonical_whatever_the_spelling() -> None:
    first = _exchange("a", "/x", b'\n\n{"b": [1, 2], "a": "\\u00e9"}\n')
    second = _exchange("a", "/x", b'{"a":"\xc3\xa9","b":[1,2]}')
    assert (
        normalise(_transcript(first)).exchanges[0].response.body
        == normalise(_transcript(second)).exchanges[0].response.body
        == '{"a":"é","b":[1,2]}'.encode()
    )


def test_never_raises_on_bad_bodies() -> None:
    not_json = _exchange("a", f"/x/{THREAD}", f"oops {THREAD}".encode())
    binary = _exchange("b", "/x", b"\xff\xfe")
    broken_sse = _exchange(
        "c",
        "/s",
        b"event: values\ndata: {not json " + THREAD.encode() + b"\n\nda",
        headers=[("content-type", "text/event-stream")],
    )
    first, second, third = normalise(_transcript(not_json, binary, broken_sse)).exchanges
    assert first.response.body == b"oops <uuid:1>"
    assert second.response.body == b"\xff\xfe"
    assert third.response.body == b"event: values\ndata: {not json <uuid:1>\n\n"


def test_placeholder_tokens() -> None:
    assert placeholder_tokens("/threads/<uuid:1>/runs/<uuid:12>/x<datetime>") == [
        "/threads/",
        ("uuid", 1),
        "/runs/",
        ("uuid", 12),
        "/x",
        ("datetime", None),
    ]
    assert placeholder_tokens("<notaplaceholder>") == ["<notaplaceholder>"]


def test_real_recording_leaves_no_volatile_value() -> None:
    transcript = load(RECORDINGS / "first" / "resumable_stream_rejoin.json")
    text = "\n".join(
        exchange.response.body.decode() + exchange.request.path + json.dumps(exchange.request.body)
        for exchange in normalise(transcript).exchanges
    )
    assert "<uuid:1>" in text and "<event_id:1>" in text
    for volatile in ("2026-", "127.0.0.1", "01a20cce"):
        assert volatile not in text, volatile
