"""The fault proxy itself: each fault and variation does to the bytes what it says.

The upstream here is a tiny ASGI app speaking like ``langgraph dev`` (CRLF framing, one write
per event); the suite-level proofs (each fault caught by its rule) are in
test_broken_servers.py.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import uvicorn

from conformance.processes import free_port
from tests.conformance.broken_servers.fault_proxy import FAULTS, SSEBlock, running_proxy

_EVENTS = [
    b'event: metadata\r\ndata: {"run_id":"r1","attempt":1}\r\nid: 1-0\r\n\r\n',
    b'event: values\r\ndata: {"messages":[]}\r\nid: 2-0\r\n\r\n',
    b": heartbeat\r\n\r\n",
    b'event: updates\r\ndata: {"agent":{"messages":[]}}\r\nid: 3-0\r\n\r\n',
    b'event: messages\r\ndata: [{"id":"lc_run--1","content":"Hi"},{"node":"agent"}]\r\nid: 4-0\r\n\r\n',
    b'event: error\r\ndata: {"error":"ValueError","message":"boom"}\r\nid: 5-0\r\n\r\n',
]


async def _upstream(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    path = scope["path"]
    if path.endswith("/stream"):
        headers = [
            (b"content-type", b"text/event-stream; charset=utf-8"),
            (b"location", b"/threads/t/runs/r1/stream"),
            (b"content-location", b"/threads/t/runs/r1"),
        ]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        for event in _EVENTS:
            await send({"type": "http.response.body", "body": event, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})
        return
    body = json.dumps({"run_id": "r1", "status": "success", "thread_id": "t"}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json")],
        }
    )
    await send({"type": "http.response.body", "body": body})


@pytest.fixture(scope="module")
def upstream_url() -> Iterator[str]:
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(_upstream, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def _stream(url: str, fault: str, **headers: str) -> httpx.Response:
    with running_proxy(url, fault) as proxy:
        return httpx.post(
            proxy + "/threads/t/runs/stream",
            json={"assistant_id": "agent", "stream_mode": ["values", "updates", "messages-tuple"]},
            headers=headers,
        )


def _blocks(body: bytes) -> list[SSEBlock]:
    parts = body.replace(b"\r\n", b"\n").replace(b"\r", b"\n").split(b"\n\n")
    return [SSEBlock.parse(part) for part in parts if part.strip()]


def _names(body: bytes) -> list[str]:
    return [block.event for block in _blocks(body) if not block.is_comment]


def test_no_fault_passes_bytes_through(upstream_url: str) -> None:
    response = _stream(upstream_url, "none")
    assert response.content == b"".join(_EVENTS)
    assert response.headers["location"] == "/threads/t/runs/r1/stream"


def test_swap_modes(upstream_url: str) -> None:
    names = _names(_stream(upstream_url, "swap_modes").content)
    assert names == ["metadata", "updates", "values", "messages", "error"]


def test_drop_metadata_and_extra_mode(upstream_url: str) -> None:
    assert _names(_stream(upstream_url, "drop_metadata").content)[0] == "values"
    assert _names(_stream(upstream_url, "extra_mode").content)[:2] == ["metadata", "debug"]


def test_header_faults(upstream_url: str) -> None:
    assert (
        _stream(upstream_url, "wrong_content_type").headers["content-type"].startswith("text/plain")
    )
    assert "location" not in _stream(upstream_url, "drop_location").headers


def test_payload_faults(upstream_url: str) -> None:
    blocks = _blocks(_stream(upstream_url, "reshape_error").content)
    assert json.loads(blocks[-1].get("data") or "") == {"detail": "boom"}
    ids = [b.get("id") for b in _blocks(_stream(upstream_url, "event_ids_repeated").content)]
    assert [i for i in ids if i] == ["1-0"] * 5
    ids = [b.get("id") for b in _blocks(_stream(upstream_url, "event_ids_decreasing").content)]
    numbers = [int(i.split("-")[0]) for i in ids if i]
    assert len(numbers) == 5 and numbers == sorted(numbers, reverse=True)
    tuples = _blocks(_stream(upstream_url, "drop_tuple_ids").content)
    chunk = json.loads(next(b for b in tuples if b.event == "messages").get("data") or "")
    assert "id" not in chunk[0]


def test_run_still_running(upstream_url: str) -> None:
    with running_proxy(upstream_url, "run_still_running") as proxy:
        assert httpx.get(proxy + "/threads/t/runs/r1").json()["status"] == "running"
        assert httpx.get(proxy + "/threads/t").json()["status"] == "success"


def test_rejoin_sends_only_heartbeats(upstream_url: str) -> None:
    with running_proxy(upstream_url, "rejoin_heartbeats_only") as proxy:
        received = b""
        with (
            contextlib.suppress(httpx.ReadTimeout),
            httpx.stream(
                "GET",
                proxy + "/threads/t/runs/r1/stream",
                headers={"last-event-id": "-1"},
                timeout=httpx.Timeout(2.0, read=1.2),
            ) as response,
        ):
            started = time.monotonic()
            for chunk in response.iter_raw():
                received += chunk
                if time.monotonic() - started > 1.1:
                    break
    assert received.startswith(b": heartbeat\r\n\r\n")
    assert b"event:" not in received


@pytest.mark.parametrize(
    ("fault", "newline"), [("lf_line_endings", b"\n"), ("cr_line_endings", b"\r")]
)
def test_line_endings(upstream_url: str, fault: str, newline: bytes) -> None:
    body = _stream(upstream_url, fault).content
    assert b"\r\n" not in body
    assert body.replace(newline, b"\r\n") == b"".join(_EVENTS)


def test_writes_split_and_packed_keep_the_bytes(upstream_url: str) -> None:
    for fault in ("split_writes", "packed_writes"):
        assert _stream(upstream_url, fault).content == b"".join(_EVENTS)


def test_extra_comments_and_reformatted_json(upstream_url: str) -> None:
    commented = _stream(upstream_url, "extra_comments").content
    assert commented.count(b": a comment block of its own") == len(_EVENTS)
    assert _names(commented) == _names(b"".join(_EVENTS))
    reformatted = _blocks(_stream(upstream_url, "json_reformatted").content)
    assert reformatted[0].get("data") == '{"attempt": 1, "run_id": "r1"}'


def test_end_event_appended(upstream_url: str) -> None:
    assert _names(_stream(upstream_url, "end_event").content)[-1] == "end"


def test_every_fault_is_named_once() -> None:
    assert len(FAULTS) == len(set(FAULTS)) == 49


def test_cut_mid_stream_drops_the_connection_after_two_events(upstream_url: str) -> None:
    with running_proxy(upstream_url, "cut_mid_stream") as proxy:
        received = b""
        with (
            pytest.raises(httpx.RemoteProtocolError),
            httpx.stream("POST", proxy + "/threads/t/runs/stream", json={}) as response,
        ):
            for chunk in response.iter_raw():
                received += chunk
    assert _names(received) == ["metadata", "values"]


def test_buffered_stream_sends_everything_in_one_write(upstream_url: str) -> None:
    with (
        running_proxy(upstream_url, "buffered_stream") as proxy,
        httpx.stream("POST", proxy + "/threads/t/runs/stream", json={}) as response,
    ):
        writes = list(response.iter_raw())
    assert b"".join(writes) == b"".join(_EVENTS)
    assert len(writes) == 1


def test_byte_level_faults(upstream_url: str) -> None:
    assert b'{"\xffmessages"' in _stream(upstream_url, "invalid_utf8").content
    assert _stream(upstream_url, "unterminated_last_event").content.endswith(
        b'data: {"late":true}\r\n'
    )
    assert b"id: 1\x00\r\n" in _stream(upstream_url, "id_with_nul").content


def test_ignore_last_event_id_asks_upstream_for_everything() -> None:
    seen: list[str | None] = []

    async def upstream(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        seen.append(dict(scope["headers"]).get(b"last-event-id", b"").decode() or None)
        headers = [(b"content-type", b"text/event-stream")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b""})

    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(upstream, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    try:
        with running_proxy(f"http://127.0.0.1:{port}", "ignore_last_event_id") as proxy:
            httpx.get(proxy + "/threads/t/runs/r/stream", headers={"last-event-id": "5-0"})
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    assert seen == ["-1"]


def test_one_event_per_message_keeps_only_the_last_partial() -> None:
    from tests.conformance.broken_servers.fault_proxy import Exchange, OneEventPerMessage

    fault = OneEventPerMessage()
    exchange = Exchange(method="POST", path="/runs/stream", request_headers={}, request_body=b"")
    sent = []
    for content in ("", "Hel", "Hello"):
        block = SSEBlock(
            [("event", "messages/partial"), ("data", json.dumps([{"id": "m", "content": content}]))]
        )
        sent += fault.blocks(exchange, block)
    assert sent == []
    sent += fault.blocks(exchange, SSEBlock([("event", "values"), ("data", "{}")]))
    assert [json.loads(b.get("data") or "") for b in sent] == [
        [{"id": "m", "content": "Hello"}],
        {},
    ]
