"""The scenario executor against a tiny local HTTP server whose every write is scripted."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import pytest

from conformance.client import (
    ScenarioError,
    StepTimeout,
    TargetUnreachable,
    _EventReader,
    run_scenario,
    unexpected_statuses,
)
from conformance.processes import free_port
from conformance.scenarios import (
    Await,
    EventsWith,
    FromEvent,
    FromEventId,
    FromHeader,
    FromJson,
    NewId,
    Poll,
    Request,
    Scenario,
    Stream,
    WaitForEvents,
)

LLM_URL = "http://127.0.0.1:9/v1"


# --- the tiny server ---------------------------------------------------------------------------


@dataclass
class Reply:
    status: int = 200
    headers: list[tuple[str, str]] = field(default_factory=list)
    parts: list[bytes] = field(default_factory=list)
    """Written one at a time with ``gap`` seconds between them, so each is one network read."""
    gap: float = 0.03
    gaps: list[float] | None = None
    """Per-part gaps, overriding ``gap``."""
    hang: bool = False
    """Keep the connection open after the last part instead of closing it."""
    content_length: int | None = None
    """Declare a length (possibly a false one); otherwise the body ends when the server closes."""
    abort: bool = False
    """Close the connection without answering at all (a reset as a client sees it)."""
    head_delay: float = 0.0
    """Seconds before the status line and headers are written."""


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    at: float = field(default_factory=time.monotonic)
    replied_at: float | None = None
    """When the reply's last part was written (None while it is still being written)."""


Handler = Callable[[Received], Reply]


def json_reply(value: object, status: int = 200) -> Reply:
    return Reply(
        status=status,
        headers=[("Content-Type", "application/json")],
        parts=[json.dumps(value).encode()],
    )


def sse(name: str, data: object, event_id: str | None = None) -> bytes:
    frame = f"event: {name}\r\ndata: {json.dumps(data, separators=(',', ':'))}\r\n"
    if event_id is not None:
        frame += f"id: {event_id}\r\n"
    return (frame + "\r\n").encode()


def sse_reply(parts: list[bytes], **extra: object) -> Reply:
    headers = [("Content-Type", "text/event-stream; charset=utf-8")]
    headers += list(extra.pop("headers", []))  # type: ignore[call-overload]
    return Reply(headers=headers, parts=parts, **extra)  # type: ignore[arg-type]


class TinyServer:
    """HTTP/1.1, one request per connection, replies scripted by ``handler``."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.received: list[Received] = []
        self.url = ""
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()

    async def __aenter__(self) -> TinyServer:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._connections):
            task.cancel()
        await asyncio.gather(*self._connections, return_exceptions=True)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        try:
            request = await self._read_request(reader)
            self.received.append(request)
            await self._write_reply(writer, self.handler(request))
            request.replied_at = time.monotonic()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self._connections.discard(task)
            writer.close()

    @staticmethod
    async def _read_request(reader: asyncio.StreamReader) -> Received:
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
        request_line, *header_lines = head.split("\r\n")
        method, path, _ = request_line.split(" ", 2)
        headers = {}
        for line in header_lines:
            if line:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0"))
        body = await reader.readexactly(length) if length else b""
        return Received(method, path, headers, body)

    @staticmethod
    async def _write_reply(writer: asyncio.StreamWriter, reply: Reply) -> None:
        if reply.abort:
            return
        await asyncio.sleep(reply.head_delay)
        head = f"HTTP/1.1 {reply.status} Whatever\r\n"
        for name, value in reply.headers:
            head += f"{name}: {value}\r\n"
        if reply.content_length is not None:
            head += f"Content-Length: {reply.content_length}\r\n"
        head += "Connection: close\r\n\r\n"
        writer.write(head.encode("latin-1"))
        await writer.drain()
        gaps = reply.gaps or [reply.gap] * len(reply.parts)
        for part, gap in zip(reply.parts, gaps, strict=True):
            await asyncio.sleep(gap)
            writer.write(part)
            await writer.drain()
        if reply.hang:
            await asyncio.sleep(3600)


@pytest.fixture
async def serve() -> AsyncIterator[Callable[[Handler], TinyServer]]:
    servers: list[TinyServer] = []

    def start(handler: Handler) -> TinyServer:
        server = TinyServer(handler)
        servers.append(server)
        return server

    yield start
    for server in servers:
        await server.__aexit__(None, None, None)


def scenario(*steps: object, name: str = "test_scenario") -> Scenario:
    return Scenario(
        name=name,
        description="a test scenario",
        capability="runs",
        model_dependent=False,
        steps=steps,  # type: ignore[arg-type]
    )


# --- tests ---------------------------------------------------------------------------------------

STREAM_PARTS = [
    sse("metadata", {"run_id": "r-1", "attempt": 1}),
    # One event split across two reads, and one read holding a multi-byte character's halves.
    b'event: values\r\ndata: {"city":"S',
    'ão Paulo"}\r\n\r\n'.encode(),
    b": heartbeat\r\n\r\n",
    sse("values", {"done": True}),
]


async def test_captures_substitution_graph_map_with_model_and_byte_exact_chunks(serve) -> None:  # type: ignore[no-untyped-def]
    def handler(request: Received) -> Reply:
        if request.method == "POST" and request.path == "/threads":
            return json_reply({"thread_id": "t-1"})
        if request.path == "/threads/t-1/runs/stream":
            return sse_reply(
                STREAM_PARTS,
                headers=[
                    ("Location", "/threads/t-1/runs/r-1/stream"),
                    ("Content-Location", "/threads/t-1/runs/r-1"),
                ],
            )
        if request.path == "/threads/t-1/runs/r-1":
            return json_reply({"status": "success"})
        return json_reply({"detail": "Not Found"}, 404)

    async with serve(handler) as server:
        transcript = await run_scenario(
            scenario(
                Request(
                    "create_thread",
                    "POST",
                    "/threads",
                    body={},
                    captures=(FromJson("thread_id", "/thread_id"),),
                ),
                Stream(
                    "stream",
                    "POST",
                    "/threads/{thread_id}/runs/stream",
                    # no model settings: the mapped graph gets the check's
                    body={"assistant_id": "weather_agent", "input": {"note": "{llm_url}"}},
                    captures=(
                        FromEvent("run_id", "metadata", "/run_id"),
                        FromHeader("location_run", "content-location", r"/runs/(?P<value>[^/]+)$"),
                    ),
                ),
                Request("get_run", "GET", "/threads/{thread_id}/runs/{run_id}"),
                Request("get_run_by_header", "GET", "/threads/{thread_id}/runs/{location_run}"),
            ),
            server.url,
            llm_url=LLM_URL,
            headers={"Authorization": "Bearer secret"},
            graph_map={"weather_agent": "their_agent"},
        )

    assert [exchange.step for exchange in transcript.exchanges] == [
        "create_thread",
        "stream",
        "get_run",
        "get_run_by_header",
    ]
    stream = transcript.exchange("stream")
    assert stream.request.path == "/threads/t-1/runs/stream"
    assert stream.request.body == {
        "assistant_id": "their_agent",
        "input": {"note": LLM_URL},
        "config": {"configurable": {"base_url": LLM_URL}},
    }
    sent = json.loads(server.received[1].body)
    assert sent == stream.request.body
    assert transcript.exchange("get_run").request.path == "/threads/t-1/runs/r-1"
    assert transcript.exchange("get_run_by_header").request.path == "/threads/t-1/runs/r-1"
    # Auth goes on every request but never into the transcript.
    assert all(request.headers["authorization"] == "Bearer secret" for request in server.received)
    assert all(
        name != "authorization"
        for exchange in transcript.exchanges
        for name, _ in exchange.request.headers
    )
    # Byte-exact, one chunk per network write, with non-decreasing arrival times.
    assert [chunk.data for chunk in stream.response.chunks] == STREAM_PARTS
    times = [chunk.at_ms for chunk in stream.response.chunks]
    assert times == sorted(times) and times[0] > 0
    assert stream.response.headers[:3] == [
        ("content-type", "text/event-stream; charset=utf-8"),
        ("location", "/threads/t-1/runs/r-1/stream"),
        ("content-location", "/threads/t-1/runs/r-1"),
    ]
    assert stream.response.closed_by == "server"


async def test_disconnect_after_n_events_stops_reading_at_once(serve) -> None:  # type: ignore[no-untyped-def]
    parts = [b": heartbeat\r\n\r\n"] + [sse("values", {"n": n}) for n in range(5)]
    async with serve(lambda request: sse_reply(parts, gap=0.05, hang=True)) as server:
        started = time.monotonic()
        transcript = await run_scenario(
            scenario(Stream("stream", "POST", "/runs/stream", body={}, disconnect_after_events=2)),
            server.url,
            llm_url=LLM_URL,
            timeout=5.0,
        )
    assert time.monotonic() - started < 4.0
    response = transcript.exchange("stream").response
    assert response.closed_by == "client"
    # The heartbeat comment does not count as an event.
    assert response.body == parts[0] + parts[1] + parts[2]


async def test_disconnect_and_capture_by_landmarks_whatever_the_events_between(serve) -> None:  # type: ignore[no-untyped-def]
    # A thread stream: runs open with metadata carrying attempt, close with run_done; the
    # second run has more events in between (a model that called a tool).
    def run(name: str, steps: int) -> list[bytes]:
        return [
            sse("metadata", {"run_id": name, "attempt": 1}, f"{name}-0"),
            *(sse("values", {"step": step}, f"{name}-{step + 1}") for step in range(steps)),
            sse("metadata", {"run_id": name, "status": "run_done"}, f"{name}-done"),
        ]

    parts = [*run("a", 4), *run("b", 1), *run("c", 2)]
    async with serve(lambda request: sse_reply(parts, gap=0.01, hang=True)) as server:
        transcript = await run_scenario(
            scenario(
                Stream(
                    "stream",
                    "GET",
                    "/threads/t/stream",
                    disconnect_after_events=2,
                    counting=EventsWith("metadata", "status"),
                    captures=(
                        FromEventId(
                            "second_input", 1, after=EventsWith("metadata", "attempt"), occurrence=1
                        ),
                    ),
                ),
                Stream(
                    "rejoin",
                    "GET",
                    "/threads/t/stream",
                    headers=(("accept", "text/event-stream"), ("Last-Event-ID", "{second_input}")),
                    disconnect_after_events=1,
                ),
            ),
            server.url,
            llm_url=LLM_URL,
            timeout=5.0,
        )
    response = transcript.exchange("stream").response
    assert response.closed_by == "client"
    # Up to the second run_done, not one event more (each part is its own network read).
    assert response.body == b"".join(parts[:9])
    assert server.received[1].headers["last-event-id"] == "b-1"


async def test_a_landmark_that_never_came_is_a_scenario_error(serve) -> None:  # type: ignore[no-untyped-def]
    parts = [sse("metadata", {"run_id": "a", "attempt": 1}, "a-0"), sse("values", {}, "a-1")]
    async with serve(lambda request: sse_reply(parts)) as server:
        with pytest.raises(
            ScenarioError, match=r"1 'metadata' events with 'attempt', wanted occurrence 1"
        ):
            await run_scenario(
                scenario(
                    Stream(
                        "stream",
                        "GET",
                        "/threads/t/stream",
                        captures=(
                            FromEventId(
                                "x", 1, after=EventsWith("metadata", "attempt"), occurrence=1
                            ),
                        ),
                    )
                ),
                server.url,
                llm_url=LLM_URL,
                timeout=5.0,
            )


async def test_background_stream_wait_for_events_then_await(serve) -> None:  # type: ignore[no-untyped-def]
    polls = {"count": 0}

    def handler(request: Received) -> Reply:
        if request.path == "/threads/t/runs/stream" and b"first" in request.body:
            return sse_reply(
                [
                    sse("metadata", {"run_id": "r-first"}),
                    sse("values", {"step": 1}),
                    sse("values", {"step": 2}),
                ],
                # The run "works" a second before its last event: the window for the steps
                # between WaitForEvents and Await.
                gaps=[0.01, 0.01, 1.0],
            )
        if request.path == "/threads/t":
            polls["count"] += 1
            return json_reply({"status": "busy" if polls["count"] >= 3 else "idle"})
        if request.path == "/threads/t/runs/stream":
            return json_reply({"detail": "Thread is busy"}, 409)
        if request.path == "/threads/t/runs/r-first":
            return json_reply({"status": "success"})
        return json_reply({"detail": "Not Found"}, 404)

    async with serve(handler) as server:
        transcript = await run_scenario(
            scenario(
                NewId("unused_marker"),
                Stream(
                    "first_stream",
                    "POST",
                    "/threads/t/runs/stream",
                    body={"which": "first"},
                    captures=(FromEvent("first_run_id", "metadata", "/run_id"),),
                    background=True,
                ),
                WaitForEvents("first_stream", 2),
                Poll("thread_busy", "/threads/t", until=("busy",), interval=0.01),
                # The run id arrived with the first event: usable before the stream ends.
                Request("first_run_early", "GET", "/threads/t/runs/{first_run_id}"),
                Stream(
                    "second_stream",
                    "POST",
                    "/threads/t/runs/stream",
                    body={"which": "second"},
                    expect_status=409,
                ),
                Await("first_stream"),
            ),
            server.url,
            llm_url=LLM_URL,
        )

    assert [exchange.step for exchange in transcript.exchanges] == [
        "first_stream",
        "thread_busy",
        "first_run_early",
        "second_stream",
    ]
    first = transcript.exchange("first_stream").response
    assert first.closed_by == "server"
    assert first.body.count(b"event: values") == 2
    # The second request went out while the first stream was still being written.
    first_sent = next(r for r in server.received if b"first" in r.body)
    second_sent = next(r for r in server.received if b"second" in r.body)
    assert first_sent.replied_at is not None
    assert second_sent.at < first_sent.replied_at
    # Only the poll that matched is recorded.
    assert polls["count"] == 3
    assert transcript.exchange("thread_busy").response.json() == {"status": "busy"}
    assert transcript.exchange("second_stream").response.status == 409


async def test_wait_for_zero_events_waits_for_the_answer_only(serve) -> None:  # type: ignore[no-untyped-def]
    def handler(request: Received) -> Reply:
        if request.path == "/threads/t/stream":
            # Headers after 0.5 s, the first event a second later, then the stream stays open.
            return sse_reply([sse("metadata", {"run_id": "r"})], gap=1.0, head_delay=0.5, hang=True)
        return json_reply({"run_id": "r"})

    async with serve(handler) as server:
        await run_scenario(
            scenario(
                Stream(
                    "thread_stream",
                    "GET",
                    "/threads/t/stream",
                    background=True,
                    disconnect_after_events=1,
                ),
                WaitForEvents("thread_stream", 0),
                Request("run", "POST", "/threads/t/runs", body={}),
                Await("thread_stream"),
            ),
            server.url,
            llm_url=LLM_URL,
            timeout=5.0,
        )

    stream_sent = next(r for r in server.received if r.path == "/threads/t/stream")
    run_sent = next(r for r in server.received if r.path == "/threads/t/runs")
    # Sent once the stream was answered, before its first event.
    assert 0.45 <= run_sent.at - stream_sent.at < 1.3


async def test_poll_that_never_matches_raises_step_timeout_with_the_last_answer(serve) -> None:  # type: ignore[no-untyped-def]
    async with serve(lambda request: json_reply({"status": "pending"})) as server:
        started = time.monotonic()
        with pytest.raises(StepTimeout, match="did not reach") as caught:
            await run_scenario(
                scenario(Poll("wait_done", "/runs/r", until=("success",), interval=0.02)),
                server.url,
                llm_url=LLM_URL,
                timeout=0.5,
            )
    assert time.monotonic() - started < 4.0
    assert caught.value.step == "wait_done"
    assert caught.value.transcript.exchange("wait_done").response.json() == {"status": "pending"}


async def test_stream_that_never_ends_is_cut_at_the_timeout(serve) -> None:  # type: ignore[no-untyped-def]
    parts = [sse("metadata", {"run_id": "r"})]
    async with serve(lambda request: sse_reply(parts, hang=True)) as server:
        started = time.monotonic()
        with pytest.raises(StepTimeout) as caught:
            await run_scenario(
                scenario(Stream("stream", "POST", "/runs/stream", body={})),
                server.url,
                llm_url=LLM_URL,
                timeout=0.5,
            )
    assert time.monotonic() - started < 4.0
    response = caught.value.transcript.exchange("stream").response
    assert response.closed_by == "timeout"
    assert response.body == parts[0]


async def test_body_cut_short_is_recorded_as_broken(serve) -> None:  # type: ignore[no-untyped-def]
    reply = Reply(
        headers=[("Content-Type", "application/json")], parts=[b'{"a":'], content_length=100
    )
    async with serve(lambda request: reply) as server:
        transcript = await run_scenario(
            scenario(Request("get", "GET", "/x")), server.url, llm_url=LLM_URL
        )
    response = transcript.exchange("get").response
    assert response.closed_by == "broken"
    assert response.body == b'{"a":'


async def test_unreachable_target_raises_quickly() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    started = time.monotonic()
    with pytest.raises(TargetUnreachable, match=url):
        await run_scenario(
            scenario(Request("get", "GET", "/threads/x")), url, llm_url=LLM_URL, timeout=30.0
        )
    assert time.monotonic() - started < 3.0


async def test_capture_that_finds_nothing_names_the_variable(serve) -> None:  # type: ignore[no-untyped-def]
    async with serve(lambda request: json_reply({"id": "no thread_id here"})) as server:
        with pytest.raises(ScenarioError, match=r"'thread_id'.*missing 'thread_id'") as caught:
            await run_scenario(
                scenario(
                    Request(
                        "create",
                        "POST",
                        "/threads",
                        body={},
                        captures=(FromJson("thread_id", "/thread_id"),),
                    ),
                    Request("get", "GET", "/threads/{thread_id}"),
                ),
                server.url,
                llm_url=LLM_URL,
            )
    assert [exchange.step for exchange in caught.value.transcript.exchanges] == ["create"]


async def test_raw_body_and_last_event_id_from_a_captured_event_id(serve) -> None:  # type: ignore[no-untyped-def]
    parts = [sse("metadata", {"run_id": "r"}, "100-0"), sse("values", {"n": 1}, "101-0")]

    def handler(request: Received) -> Reply:
        if request.method == "POST" and request.path == "/bad":
            return json_reply({"detail": "Invalid JSON in request body"}, 422)
        return sse_reply(parts)

    async with serve(handler) as server:
        transcript = await run_scenario(
            scenario(
                Request("bad_json", "POST", "/bad", raw_body=b'{"open": ', expect_status=422),
                Stream(
                    "stream",
                    "POST",
                    "/runs/stream",
                    body={},
                    captures=(FromEventId("last_id", -1), FromEventId("first_id", 0)),
                ),
                Stream(
                    "rejoin",
                    "GET",
                    "/runs/r/stream",
                    headers=(("accept", "text/event-stream"), ("Last-Event-ID", "{first_id}")),
                ),
            ),
            server.url,
            llm_url=LLM_URL,
        )
    assert server.received[0].body == b'{"open": '
    assert server.received[0].headers["content-type"] == "application/json"
    assert transcript.exchange("bad_json").request.body == '{"open": '
    assert server.received[2].headers["last-event-id"] == "100-0"
    assert ("last-event-id", "100-0") in transcript.exchange("rejoin").request.headers
    assert unexpected_statuses(
        scenario(
            Request("bad_json", "POST", "/bad", expect_status=400),
            Stream("stream", "POST", "/runs/stream"),
            Stream("rejoin", "GET", "/runs/r/stream"),
        ),
        transcript,
    ) == ["test_scenario/bad_json: POST /bad answered 422, expected 400"]


async def test_unbound_placeholder_is_a_scenario_error(serve) -> None:  # type: ignore[no-untyped-def]
    async with serve(lambda request: json_reply({})) as server:
        with pytest.raises(ScenarioError, match=r"\{thread_id\}"):
            await run_scenario(
                scenario(Request("get", "GET", "/threads/{thread_id}")),
                server.url,
                llm_url=LLM_URL,
            )


async def test_a_preflight_asks_for_the_checks_headers_and_carries_none_of_them(serve) -> None:  # type: ignore[no-untyped-def]
    # As a browser does: the page's Authorization is asked for, never sent on the preflight.
    async with serve(lambda request: json_reply({})) as server:
        transcript = await run_scenario(
            scenario(
                Request(
                    "preflight",
                    "OPTIONS",
                    "/threads",
                    headers=(
                        ("origin", "http://127.0.0.1:5173"),
                        ("access-control-request-method", "POST"),
                        ("access-control-request-headers", "content-type"),
                    ),
                ),
                Request("create", "POST", "/threads", body={}),
            ),
            server.url,
            llm_url=LLM_URL,
            headers={"Authorization": "Bearer secret", "X-Tenant": "t"},
        )
    preflight, create = server.received
    assert "authorization" not in preflight.headers and "x-tenant" not in preflight.headers
    assert (
        preflight.headers["access-control-request-headers"] == "content-type,authorization,x-tenant"
    )
    recorded = dict(transcript.exchange("preflight").request.headers)
    assert recorded["access-control-request-headers"] == "content-type,authorization,x-tenant"
    assert create.headers["authorization"] == "Bearer secret", "the page's requests carry it"


def test_event_reader_gives_the_same_events_byte_by_byte() -> None:
    stream = (
        b': heartbeat\r\n\r\nevent: metadata\r\ndata: {"run_id":"r"}\r\nid: 1-0\r\n\r\n'
        b'event: values\ndata: {"city":"S\xc3\xa3o"}\n\n'
        b"event: values\rdata: [1,\rdata: 2]\r\r"
        b"event: no-data\r\n\r\n"
    )
    whole = _EventReader()
    whole.feed(stream)
    one_by_one = _EventReader()
    for index in range(len(stream)):
        one_by_one.feed(stream[index : index + 1])
    assert [(e.name, e.data, e.id) for e in whole.events] == [
        ("metadata", '{"run_id":"r"}', "1-0"),
        ("values", '{"city":"São"}', "1-0"),
        ("values", "[1,\n2]", "1-0"),
    ]
    assert [(e.name, e.data, e.id) for e in one_by_one.events] == [
        (e.name, e.data, e.id) for e in whole.events
    ]


def test_event_reader_ends_a_line_at_a_cr_at_once() -> None:
    # CR-only framing: the event is complete when its blank line's CR arrives, whatever
    # comes next (a server may pause there); an LF right after a CR is part of a CRLF.
    reader = _EventReader()
    assert reader.feed(b"event: values\rdata: 1\r\r") == 1
    assert reader.feed(b"\nevent: values\r") == 0
    assert reader.feed(b"\ndata: 2\r\n\r") == 1
    assert reader.feed(b"\n\n") == 0, "one LF completes the CRLF, the next is an empty line"
    assert [(e.name, e.data) for e in reader.events] == [("values", "1"), ("values", "2")]


async def test_cr_framed_event_is_seen_while_the_server_pauses(serve) -> None:  # type: ignore[no-untyped-def]
    # Valid SSE framed with CR alone; the server pauses 2 s after its first event. The
    # scenario must see that event during the pause, not when the next byte arrives.
    parts = [b'event: metadata\rdata: {"run_id":"r"}\r\r', b"event: values\rdata: {}\r\r"]

    def handler(request: Received) -> Reply:
        if request.path == "/runs/stream":
            return sse_reply(parts, gaps=[0.0, 2.0])
        return json_reply({"status": "running"})

    async with serve(handler) as server:
        transcript = await run_scenario(
            scenario(
                Stream("stream", "POST", "/runs/stream", body={}, background=True),
                WaitForEvents("stream", 1),
                Request("during_pause", "GET", "/runs/r"),
                Await("stream"),
            ),
            server.url,
            llm_url=LLM_URL,
            timeout=10.0,
        )
    stream_sent = next(r for r in server.received if r.path == "/runs/stream")
    probe = next(r for r in server.received if r.path == "/runs/r")
    assert probe.at - stream_sent.at < 1.0, "the first event waited for the second write"
    assert transcript.exchange("stream").response.body == b"".join(parts)


async def test_connection_closed_before_an_answer_is_a_failure_of_that_step(serve) -> None:  # type: ignore[no-untyped-def]
    def handler(request: Received) -> Reply:
        if request.path == "/reset":
            return Reply(abort=True)
        return json_reply({"ok": True})

    async with serve(handler) as server:
        with pytest.raises(ScenarioError, match="connection failed before an answer") as caught:
            await run_scenario(
                scenario(Request("fine", "GET", "/fine"), Request("reset", "GET", "/reset")),
                server.url,
                llm_url=LLM_URL,
            )
    assert caught.value.step == "reset"
    assert not isinstance(caught.value, StepTimeout)
    response = caught.value.transcript.exchange("reset").response
    assert (response.status, response.closed_by) == (0, "broken")
    assert caught.value.transcript.exchange("fine").response.json() == {"ok": True}


async def test_stream_cut_short_is_recorded_as_broken(serve) -> None:  # type: ignore[no-untyped-def]
    first = sse("metadata", {"run_id": "r"})
    reply = sse_reply([first], content_length=len(first) + 50)
    async with serve(lambda request: reply) as server:
        transcript = await run_scenario(
            scenario(Stream("stream", "POST", "/runs/stream", body={})),
            server.url,
            llm_url=LLM_URL,
        )
    response = transcript.exchange("stream").response
    assert (response.closed_by, response.body) == ("broken", first)


async def test_poll_ends_at_once_when_the_run_settles_in_another_terminal_status(serve) -> None:  # type: ignore[no-untyped-def]
    async with serve(lambda request: json_reply({"status": "error"})) as server:
        started = time.monotonic()
        with pytest.raises(ScenarioError, match="terminal status 'error'") as caught:
            await run_scenario(
                scenario(Poll("run_running", "/threads/t/runs/r", until=("running",))),
                server.url,
                llm_url=LLM_URL,
                timeout=20.0,
            )
    assert time.monotonic() - started < 2.0
    assert not isinstance(caught.value, StepTimeout)
    assert caught.value.transcript.exchange("run_running").response.json() == {"status": "error"}


async def test_thread_poll_waits_through_statuses_a_thread_can_leave(serve) -> None:  # type: ignore[no-untyped-def]
    answers = iter(["idle", "idle", "busy"])
    async with serve(lambda request: json_reply({"status": next(answers)})) as server:
        transcript = await run_scenario(
            scenario(Poll("thread_busy", "/threads/t", until=("busy",), interval=0.01)),
            server.url,
            llm_url=LLM_URL,
        )
    assert transcript.exchange("thread_busy").response.json() == {"status": "busy"}
