"""A reverse proxy that breaks a good server in one named way, to prove the suite notices.

``FaultProxy(upstream, fault)`` is an ASGI app forwarding every request to ``upstream`` with
httpx, streaming the answer back as it arrives, after passing it through one *fault* (a
protocol bug other implementations shipped) or one *legal variation* (something the SSE spec
and the SDKs allow, which the suite must accept). ``running_proxy(...)`` serves it with uvicorn
on a free loopback port in a background thread.

SSE bodies are rewritten event by event: the proxy splits the upstream bytes on blank lines,
so a transformation sees whole events (``SSEBlock``) whatever the upstream's write pattern.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import uvicorn

from conformance.processes import free_port

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "host"}
_BLOCK_END = re.compile(rb"\r\n\r\n|\n\n|\r\r")


@dataclass(slots=True)
class SSEBlock:
    """One event block as the upstream wrote it: its lines, without the blank line."""

    lines: list[tuple[str, str]] = field(default_factory=list)
    """(field, value) pairs in order; a comment has field ``""``."""

    @classmethod
    def parse(cls, raw: bytes) -> SSEBlock:
        block = cls()
        for line in re.split(rb"\r\n|\n|\r", raw):
            text = line.decode("utf-8")
            if text.startswith(":"):
                block.lines.append(("", text[1:]))
                continue
            name, _, value = text.partition(":")
            block.lines.append((name, value.removeprefix(" ")))
        return block

    def get(self, name: str) -> str | None:
        return next((value for key, value in self.lines if key == name), None)

    def set(self, name: str, value: str) -> None:
        self.lines = [(key, value if key == name else old) for key, old in self.lines]

    def drop(self, name: str) -> None:
        self.lines = [(key, value) for key, value in self.lines if key != name]

    @property
    def event(self) -> str:
        return self.get("event") or "message"

    @property
    def is_comment(self) -> bool:
        return all(key == "" for key, _ in self.lines)

    def render(self, newline: bytes = b"\r\n") -> bytes:
        text = [f":{value}" if key == "" else f"{key}: {value}" for key, value in self.lines]
        return newline.join(line.encode("utf-8") for line in text) + newline + newline


@dataclass(slots=True)
class Exchange:
    """What a fault may look at and change: the request, then the response head."""

    method: str
    path: str
    request_headers: dict[str, str]
    request_body: bytes
    status: int = 0
    headers: list[tuple[str, str]] = field(default_factory=list)

    @property
    def is_stream(self) -> bool:
        return any(
            key == "content-type" and value.startswith("text/event-stream")
            for key, value in self.headers
        ) or self.path.split("?")[0].endswith("/stream")

    def header(self, name: str) -> str | None:
        return next((value for key, value in self.headers if key == name), None)

    def stream_modes(self) -> list[str]:
        try:
            body = json.loads(self.request_body or b"{}")
        except ValueError:
            return []
        modes = body.get("stream_mode", ["values"]) if isinstance(body, dict) else []
        return [modes] if isinstance(modes, str) else list(modes)


class Fault:
    """Pass-through; subclasses change one thing."""

    newline = b"\r\n"

    def response_head(self, exchange: Exchange) -> None:
        """Change status/headers in place."""

    def blocks(self, exchange: Exchange, block: SSEBlock) -> list[SSEBlock]:
        """The blocks to send for one upstream block (of a stream)."""
        return [block]

    def stream_end(self, exchange: Exchange) -> list[SSEBlock]:
        """Blocks appended when the upstream stream ends."""
        return []

    def json_body(self, exchange: Exchange, body: bytes) -> bytes:
        """A whole non-stream body."""
        return body

    async def writes(
        self, exchange: Exchange, chunks: AsyncIterator[bytes]
    ) -> AsyncIterator[bytes]:
        """How the transformed bytes are cut into network writes."""
        async for chunk in chunks:
            yield chunk

    async def hold_stream(self, exchange: Exchange) -> bool:
        """True to replace the stream by heartbeats forever (the rejoin fault)."""
        return False

    def request(self, exchange: Exchange) -> None:
        """Change the request (path, headers, body) before it goes upstream."""

    def render(self, exchange: Exchange, block: SSEBlock) -> bytes:
        """One block's bytes on the wire."""
        return block.render(self.newline)

    def tail(self, exchange: Exchange) -> bytes:
        """Raw bytes written after the last block, before the body ends."""
        return b""

    def abort_after_blocks(self, exchange: Exchange) -> int | None:
        """Drop the connection (no end of the chunked body) after this many blocks."""
        return None


# --- faults: each breaks one rule -----------------------------------------------------------------


class SwapModes(Fault):
    """Events of two requested modes carry each other's names."""

    def __init__(self, first: str = "values", second: str = "updates") -> None:
        self.swap = {first: second, second: first}

    def blocks(self, exchange: Exchange, block: SSEBlock) -> list[SSEBlock]:
        if block.event in self.swap:
            block.set("event", self.swap[block.event])
        return [block]


class DropMetadata(Fault):
    def blocks(self, exchange: Exchange, block: SSEBlock) -> list[SSEBlock]:
        return [] if block.event == "metadata" else [block]


class ExtraMode(Fault):
    """After the metadata, an event of a mode nobody asked for."""

    def blocks(self, exchange: Exchange, block: SSEBlock) -> list[SSEBlock]:
        if block.event != "metadata":
            return [block]
        extra = "debug" if "debug" not in exchange.stream_modes() else "tasks"
        return [block, SSEBlock([("event", extra), ("data", '{"unrequested":true}')])]


class WrongContentType(Fault):
    def response_head(self, exchange: Exchange) -> None:
        if exchange.is_stream:
            exchange.headers = [
                (k, "text/plain; charset=utf-8" if k == "content-type" else v)
                for k, v in exchange.headers
            ]


class DropLocation(Fault):
    def response_head(self, exchange: Exchange) -> None:
        if exchange.is_stream:
            exchange.headers = [(k, v) for k, v in exchange.headers if k != "location"]


class ReshapeError(Fault):
    """``{"error", "message"}`` becomes ``{"detail"}`` in error events."""

    def blocks(self, exchange: Exchange, block: SSEBlock) -> list[SSEBlock]:
        if block.event == "error":
            payload = json.loads(block.get("data") or "{}")
            block.set("data", json.dumps({"detail": payload.get("message", "")}))
        return [block]


class EventIdsDecreasing(Fault):
    """Each ``id:`` of a stream comes before the previous one."""

    def __init__(self) -> None:
        self.sent: dict[int, int] = {}

    def blocks(self, exchange: Exchange, block: SSEBlock) -> list[SSEBlock]:
        if block.get("id") is not None:
            count = self.sent[id(exchange)] = self.sent.get(id(exchange), 0) + 1
            block.set("id", f"{10**13 - count}-0")
        return [block]


class EventIdsRepeated(Fault):
    """Every ``id:`` of a stream is the first one it sent."""

    def __init__(self) -> None:
        self.first: dict[int, str] = {}

    def blocks(self, exchange: Exchange, block: SSEBlock) -> list[SSEBlock]:
        value = block.get("id")
        if value is not None:
            block.set("id", self.first.setdefault(id(exchange), value))
        return [block]


class RunStillRunning(Fault):
    """A GET of a run answers ``running`` though its stream has closed."""

    _RUN = re.compile(r"^(/threads/[^/]+)?/runs/[^/]+$")

    def json_body(self, exchange: Exchange, body: bytes) -> bytes:
        if exchange.method != "GET" or not self._RUN.match(exchange.path.split("?")[0]):
            return body
        run = json.loads(body)
        if isinstance(run, dict) and "status" in run:
            run["status"] = "running"
        return json.dumps(run).encode()


class DropTupleIds(Fault):
    """``messages-tuple`` chunks lose their ``id`` (useStream then drops them)."""

    def blocks(self, exchange: Exchange, block: SSEBlock) -> list[SSEBlock]:
        if block.event.split("|")[0] == "messages" and "messages-tuple" in exchange.stream_modes():
            payload = json.loads(block.get("data") or "null")
            if isinstance(payload, list) and payload and isinstance(payload[0], dict):
                payload[0].pop("id", None)
                block.set("data", json.dumps(payload))
        return [block]


class RejoinHeartbeatsOnly(Fault):
    """A rejoin (``Last-Event-ID``) gets heartbeats and nothing else, forever."""

    async def hold_stream(self, exchange: Exchange) -> bool:
        return exchange.method == "GET" and "last-event-id" in exchange.request_headers


class InvalidUtf8(Fault):
    """A byte that is not UTF-8 inside the first values event (inside a JSON string, so the
    data still parses: only the encoding is wrong)."""

    def render(self, exchange: Exchange, block: SSEBlock) -> bytes:
        data = block.render(self.newline)
        return data.replace(b'{"', b'{"\xff', 1) if block.event == "values" else data


class UnterminatedLastEvent(Fault):
    """The server ends the body cleanly in the middle of a last event (no blank line)."""

    def tail(self, exchange: Exchange) -> bytes:
        return b'event: values\r\ndata: {"late":true}\r\n' if exchange.is_stream else b""


def _after_metadata(extra: list[tuple[str, str]]) -> Callable[[Exchange, SSEBlock], list[SSEBlock]]:
    def blocks(exchange: Exchange, block: SSEBlock) -> list[SSEBlock]:
        return [block, SSEBlock(list(extra))] if block.event == "metadata" else [block]

    return blocks


class EventWithoutData(Fault):
    """After the metadata, a block with an event name and no data."""

    def blocks(self, exchange: Exchange, block: SSEBlock) -> list[SSEBlock]:
        return _after_metadata([("event", "values")])(exchange, block)


class MetadataField(Fault):
    """The metadata block gets one more field line (an id with NUL, a bogus retry)."""

    def __init__(self, name: str, value: str) -> None:
        self.field = (name, value)

    def blocks(self, exchange: Exchange, block: SSEBlock) -> list[SSEBlock]:
        if block.event == "metadata":
            block.lines.append(self.field)
        return [block]


class SilentStream(Fault):
    """No heartbeats, and the last write held back past the keep-alive limit."""

    def __init__(self, silence_s: float = 16.0) -> None:
        self.silence_s = silence_s

    def blocks(self, exchange: Exchange, block: SSEBlock) -> list[SSEBlock]:
        return [] if block.is_comment else [block]

    async def writes(
        self, exchange: Exchange, chunks: AsyncIterator[bytes]
    ) -> AsyncIterator[bytes]:
        if not exchange.is_stream:
            async for chunk in chunks:
                yield chunk
            return
        held: bytes | None = None
        async for chunk in chunks:
            if held is not None:
                yield held
            held = chunk
        if held is not None:
            await asyncio.sleep(self.silence_s)
            yield held


class DataNotJson(Fault):
    def blocks(self, exchange: Exchange, block: SSEBlock) -> list[SSEBlock]:
        if block.event == "values":
            block.set("data", "values, not JSON")
        return [block]


class DropHeader(Fault):
    def __init__(self, name: str) -> None:
        self.name = name

    def response_head(self, exchange: Exchange) -> None:
        if exchange.is_stream:
            exchange.headers = [(k, v) for k, v in exchange.headers if k != self.name]


class PreflightRefused(Fault):
    """A CORS preflight answered 405 with no Access-Control-* headers: a server with no CORS
    handling (seen on fractal-agents-runtime)."""

    def response_head(self, exchange: Exchange) -> None:
        if exchange.method == "OPTIONS":
            exchange.status = 405
            exchange.headers = [
                (k, v) for k, v in exchange.headers if not k.startswith("access-control-")
            ]


class DropCorsHeader(Fault):
    """One Access-Control-* header dropped from every answer but the preflights."""

    def __init__(self, name: str) -> None:
        self.name = name

    def response_head(self, exchange: Exchange) -> None:
        if exchange.method != "OPTIONS":
            exchange.headers = [(k, v) for k, v in exchange.headers if k != self.name]


class SetHeader(Fault):
    """A legal variation of one stream header (e.g. no charset)."""

    def __init__(self, name: str, value: str) -> None:
        self.header = (name, value)

    def response_head(self, exchange: Exchange) -> None:
        if exchange.is_stream:
            name, value = self.header
            exchange.headers = [(k, value if k == name else v) for k, v in exchange.headers]


def _rewrite_data(block: SSEBlock, change: Callable[[Any], Any]) -> None:
    data = block.get("data")
    if data is not None:
        with contextlib.suppress(ValueError):
            block.set("data", json.dumps(change(json.loads(data))))


class MetadataPayload(Fault):
    """The metadata event's payload changed (a zero attempt, a null run id)."""

    def __init__(self, key: str, value: Any) -> None:
        self.key, self.value = key, value

    def blocks(self, exchange: Exchange, block: SSEBlock) -> list[SSEBlock]:
        if block.event == "metadata":
            _rewrite_data(block, lambda payload: {**payload, self.key: self.value})
        return [block]


class EventAfterError(Fault):
    def blocks(self, exchange: Exchange, block: SSEBlock) -> list[SSEBlock]:
        if block.event == "error":
            return [block, SSEBlock([("event", "values"), ("data", '{"after":"error"}')])]
        return [block]


class NamespaceWithoutSubgraphs(Fault):
    """Root events named as if from a subgraph, though the run did not ask for subgraphs."""

    def blocks(self, exchange: Exchange, block: SSEBlock) -> list[SSEBlock]:
        if block.event == "values":
            block.set("event", "values|agent:1")
        return [block]


class DropEvents(Fault):
    def __init__(self, name: str) -> None:
        self.name = name

    def blocks(self, exchange: Exchange, block: SSEBlock) -> list[SSEBlock]:
        return [] if block.event == self.name else [block]


class TupleNotPair(Fault):
    """messages-tuple events carry the chunk alone, not [chunk, metadata]."""

    def blocks(self, exchange: Exchange, block: SSEBlock) -> list[SSEBlock]:
        if block.event == "messages":
            _rewrite_data(block, lambda pair: pair[0] if isinstance(pair, list) else pair)
        return [block]


class NullTupleIds(Fault):
    """messages-tuple chunks carry ``"id": null``."""

    def blocks(self, exchange: Exchange, block: SSEBlock) -> list[SSEBlock]:
        if block.event == "messages":
            _rewrite_data(block, lambda pair: [{**pair[0], "id": None}, *pair[1:]])
        return [block]


class IgnoreLastEventId(Fault):
    """Whatever Last-Event-ID the client sends, the server replays from the start."""

    def request(self, exchange: Exchange) -> None:
        if "last-event-id" in exchange.request_headers:
            exchange.request_headers["last-event-id"] = "-1"


class SuccessAfterError(Fault):
    """A run that failed reads ``success`` (status set in a ``finally``)."""

    _RUN = re.compile(r"^(/threads/[^/]+)?/runs/[^/]+$")

    def json_body(self, exchange: Exchange, body: bytes) -> bytes:
        if exchange.method != "GET" or not self._RUN.match(exchange.path.split("?")[0]):
            return body
        run = json.loads(body)
        if isinstance(run, dict) and run.get("status") == "error":
            run["status"] = "success"
        return json.dumps(run).encode()


class CutMidStream(Fault):
    """The connection drops after the first two events: no end of the chunked body."""

    def abort_after_blocks(self, exchange: Exchange) -> int | None:
        return 2


class OneEventPerMessage(Fault):
    """messages/partial events held back and only the last of each message sent: the whole
    answer in one event instead of one per token."""

    def __init__(self) -> None:
        self.held: dict[int, dict[str, SSEBlock]] = {}

    def _flush(self, exchange: Exchange) -> list[SSEBlock]:
        return list(self.held.pop(id(exchange), {}).values())

    def blocks(self, exchange: Exchange, block: SSEBlock) -> list[SSEBlock]:
        if block.event != "messages/partial":
            return [*self._flush(exchange), block]
        with contextlib.suppress(ValueError, LookupError, TypeError):
            message_id = json.loads(block.get("data") or "")[0]["id"]
            self.held.setdefault(id(exchange), {})[message_id] = block
            return []
        return [block]

    def stream_end(self, exchange: Exchange) -> list[SSEBlock]:
        return self._flush(exchange)


class BufferedStream(Fault):
    """Nothing is sent until the upstream stream has ended: then everything at once."""

    async def writes(
        self, exchange: Exchange, chunks: AsyncIterator[bytes]
    ) -> AsyncIterator[bytes]:
        whole = b"".join([chunk async for chunk in chunks])
        if whole:
            yield whole


class EnqueueRunsConcurrently(Fault):
    """multitask_strategy enqueue ignored: the second run starts at once, beside the first
    (sent as a stateless run, so it neither waits nor sees the first run's state)."""

    def request(self, exchange: Exchange) -> None:
        if exchange.method != "POST" or not exchange.path.endswith("/runs/stream"):
            return
        with contextlib.suppress(ValueError):
            body = json.loads(exchange.request_body or b"{}")
            if isinstance(body, dict) and body.get("multitask_strategy") == "enqueue":
                exchange.path = "/runs/stream"
                del body["multitask_strategy"]
                exchange.request_body = json.dumps(body).encode()


# --- legal variations: the suite must accept each -------------------------------------------------


class LineEndings(Fault):
    def __init__(self, newline: bytes) -> None:
        self.newline = newline


class SplitWrites(Fault):
    """Every write cut into pieces of a few bytes: events span many network writes."""

    async def writes(
        self, exchange: Exchange, chunks: AsyncIterator[bytes]
    ) -> AsyncIterator[bytes]:
        async for chunk in chunks:
            for start in range(0, len(chunk), 7):
                yield chunk[start : start + 7]


class PackedWrites(Fault):
    """Events that arrive close together go out in one write."""

    async def writes(
        self, exchange: Exchange, chunks: AsyncIterator[bytes]
    ) -> AsyncIterator[bytes]:
        queue: asyncio.Queue[bytes | None] = asyncio.Queue()

        async def pump() -> None:
            async for chunk in chunks:
                await queue.put(chunk)
            await queue.put(None)

        task = asyncio.create_task(pump())
        try:
            done = False
            while not done:
                packed = [await queue.get()]
                await asyncio.sleep(0.02)  # let the next events arrive
                while not queue.empty():
                    packed.append(queue.get_nowait())
                done = packed[-1] is None
                data = b"".join(chunk for chunk in packed if chunk is not None)
                if data:
                    yield data
        finally:
            task.cancel()


class ExtraComments(Fault):
    def blocks(self, exchange: Exchange, block: SSEBlock) -> list[SSEBlock]:
        block.lines.insert(0, ("", " proxy comment"))
        return [SSEBlock([("", " a comment block of its own")]), block]


def _reordered(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _reordered(value[key]) for key in reversed(list(value))}
    if isinstance(value, list):
        return [_reordered(item) for item in value]
    return value


class JsonReformatted(Fault):
    """Keys in reverse order, spaces after separators, non-ASCII escaped: same JSON."""

    @staticmethod
    def _rewrite(text: bytes | str) -> str:
        return json.dumps(_reordered(json.loads(text)), separators=(", ", ": "))

    def blocks(self, exchange: Exchange, block: SSEBlock) -> list[SSEBlock]:
        data = block.get("data")
        if data:
            with contextlib.suppress(ValueError):
                block.set("data", self._rewrite(data))
        return [block]

    def json_body(self, exchange: Exchange, body: bytes) -> bytes:
        try:
            return self._rewrite(body).encode()
        except ValueError:
            return body


class Heartbeats(Fault):
    """A heartbeat comment block before every event, as a server with a short keep-alive
    period would send."""

    def blocks(self, exchange: Exchange, block: SSEBlock) -> list[SSEBlock]:
        return [SSEBlock([("", " heartbeat")]), block]


def _with_extra_key(value: Any) -> Any:
    if isinstance(value, dict):
        return {**value, "x_server_extra": True}
    return value


class ExtraKeys(Fault):
    """One more key in every JSON object a stream event or a JSON body carries at its top."""

    def blocks(self, exchange: Exchange, block: SSEBlock) -> list[SSEBlock]:
        _rewrite_data(block, _with_extra_key)
        return [block]

    def json_body(self, exchange: Exchange, body: bytes) -> bytes:
        try:
            document = json.loads(body)
        except ValueError:
            return body
        if isinstance(document, list):
            return json.dumps([_with_extra_key(item) for item in document]).encode()
        return json.dumps(_with_extra_key(document)).encode()


_DASHED_UUID = re.compile(
    r"\b([0-9a-f]{8})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{12})\b"
)
_DASHLESS_UUID = re.compile(
    r"\b([0-9a-f]{8})([0-9a-f]{4})([0-9a-f]{4})([0-9a-f]{4})([0-9a-f]{12})\b"
)


def _dashless(text: str) -> str:
    return _DASHED_UUID.sub(lambda match: "".join(match.groups()), text)


def _dashed(text: str) -> str:
    return _DASHLESS_UUID.sub(lambda match: "-".join(match.groups()), text)


class DashlessIds(Fault):
    """Every UUID the server sends is written as 32 hex digits without dashes (ids are
    opaque: a server may use any format consistently); the client's copies are turned back
    on the way in, as such a server would accept its own ids."""

    def request(self, exchange: Exchange) -> None:
        exchange.path = _dashed(exchange.path)
        exchange.request_headers = {k: _dashed(v) for k, v in exchange.request_headers.items()}
        exchange.request_body = _dashed(exchange.request_body.decode("utf-8")).encode("utf-8")

    def response_head(self, exchange: Exchange) -> None:
        exchange.headers = [(k, _dashless(v)) for k, v in exchange.headers]

    def blocks(self, exchange: Exchange, block: SSEBlock) -> list[SSEBlock]:
        block.lines = [(key, _dashless(value)) for key, value in block.lines]
        return [block]

    def json_body(self, exchange: Exchange, body: bytes) -> bytes:
        return _dashless(body.decode("utf-8")).encode("utf-8")


class EndEvent(Fault):
    """An ``end`` event after the last one, as some servers send (the SDKs accept it)."""

    def stream_end(self, exchange: Exchange) -> list[SSEBlock]:
        return [SSEBlock([("event", "end"), ("data", "null")])]


FAULTS: dict[str, Callable[[], Fault]] = {
    "none": Fault,
    "swap_modes": SwapModes,
    "drop_metadata": DropMetadata,
    "extra_mode": ExtraMode,
    "wrong_content_type": WrongContentType,
    "drop_location": DropLocation,
    "reshape_error": ReshapeError,
    "event_ids_decreasing": EventIdsDecreasing,
    "event_ids_repeated": EventIdsRepeated,
    "run_still_running": RunStillRunning,
    "drop_tuple_ids": DropTupleIds,
    "rejoin_heartbeats_only": RejoinHeartbeatsOnly,
    "lf_line_endings": lambda: LineEndings(b"\n"),
    "cr_line_endings": lambda: LineEndings(b"\r"),
    "split_writes": SplitWrites,
    "packed_writes": PackedWrites,
    "extra_comments": ExtraComments,
    "json_reformatted": JsonReformatted,
    "end_event": EndEvent,
    "invalid_utf8": InvalidUtf8,
    "unterminated_last_event": UnterminatedLastEvent,
    "event_without_data": EventWithoutData,
    "id_with_nul": lambda: MetadataField("id", "1\x00"),
    "bogus_retry": lambda: MetadataField("retry", "soon"),
    "silent_stream": SilentStream,
    "data_not_json": DataNotJson,
    "drop_cache_control": lambda: DropHeader("cache-control"),
    "drop_accel_buffering": lambda: DropHeader("x-accel-buffering"),
    "drop_content_location": lambda: DropHeader("content-location"),
    "preflight_refused": PreflightRefused,
    "drop_allow_origin": lambda: DropCorsHeader("access-control-allow-origin"),
    "drop_expose_headers": lambda: DropCorsHeader("access-control-expose-headers"),
    "attempt_zero": lambda: MetadataPayload("attempt", 0),
    "null_run_id": lambda: MetadataPayload("run_id", None),
    "event_after_error": EventAfterError,
    "namespace_without_subgraphs": NamespaceWithoutSubgraphs,
    "drop_messages_metadata": lambda: DropEvents("messages/metadata"),
    "tuple_not_pair": TupleNotPair,
    "null_tuple_ids": NullTupleIds,
    "ignore_last_event_id": IgnoreLastEventId,
    "success_after_error": SuccessAfterError,
    "cut_mid_stream": CutMidStream,
    "one_event_per_message": OneEventPerMessage,
    "buffered_stream": BufferedStream,
    "enqueue_runs_concurrently": EnqueueRunsConcurrently,
    "no_charset": lambda: SetHeader("content-type", "text/event-stream"),
    "heartbeats": Heartbeats,
    "extra_keys": ExtraKeys,
    "dashless_ids": DashlessIds,
}


# --- the proxy ------------------------------------------------------------------------------------


async def _split_blocks(raw: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    buffer = b""
    async for chunk in raw:
        buffer += chunk
        while match := _BLOCK_END.search(buffer):
            yield buffer[: match.start()]
            buffer = buffer[match.end() :]
    if buffer.strip():
        yield buffer  # an unterminated last block passes through as it came


class ConnectionAbortedByFault(Exception):
    """Raised inside the ASGI app once its response started: the server drops the connection
    without ending the chunked body, as a crashed or killed server would."""


class FaultProxy:
    """ASGI app: forward to ``upstream``, applying ``fault``."""

    def __init__(self, upstream: str, fault: Fault, *, heartbeat_s: float = 0.5) -> None:
        self.upstream = upstream.rstrip("/")
        self.fault = fault
        self.heartbeat_s = heartbeat_s
        self.client = httpx.AsyncClient(base_url=self.upstream, timeout=None)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        path = scope["raw_path"].decode() if scope.get("raw_path") else scope["path"]
        if scope.get("query_string"):
            path += "?" + scope["query_string"].decode()
        exchange = Exchange(
            method=scope["method"],
            path=path,
            request_headers={k.decode().lower(): v.decode() for k, v in scope["headers"]},
            request_body=body,
        )
        forward = asyncio.create_task(self._forward(exchange, send))
        disconnected = asyncio.create_task(self._wait_disconnect(receive))
        await asyncio.wait({forward, disconnected}, return_when=asyncio.FIRST_COMPLETED)
        # A client that went away must be seen to go away upstream too (on_disconnect).
        for task in (forward, disconnected):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, OSError, httpx.HTTPError):
                await task

    @staticmethod
    async def _wait_disconnect(receive: Receive) -> None:
        while (await receive())["type"] != "http.disconnect":
            pass

    async def _forward(self, exchange: Exchange, send: Send) -> None:
        self.fault.request(exchange)
        headers = [(k, v) for k, v in exchange.request_headers.items() if k not in _HOP_BY_HOP]
        request = self.client.build_request(
            exchange.method, exchange.path, headers=headers, content=exchange.request_body
        )
        response = await self.client.send(request, stream=True)
        try:
            exchange.status = response.status_code
            exchange.headers = [(k.decode().lower(), v.decode()) for k, v in response.headers.raw]
            self.fault.response_head(exchange)
            head = [(k, v) for k, v in exchange.headers if k not in _HOP_BY_HOP]
            await send(
                {
                    "type": "http.response.start",
                    "status": exchange.status,
                    "headers": [(k.encode(), v.encode()) for k, v in head],
                }
            )
            if exchange.is_stream and exchange.status == 200:
                if await self.fault.hold_stream(exchange):
                    while True:
                        await send(
                            {
                                "type": "http.response.body",
                                "body": b": heartbeat\r\n\r\n",
                                "more_body": True,
                            }
                        )
                        await asyncio.sleep(self.heartbeat_s)
                pieces = self.fault.writes(exchange, self._stream(exchange, response.aiter_raw()))
            else:
                pieces = self.fault.writes(exchange, self._whole(exchange, response))
            async for piece in pieces:
                await send({"type": "http.response.body", "body": piece, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            await response.aclose()

    async def _stream(self, exchange: Exchange, raw: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
        abort_after = self.fault.abort_after_blocks(exchange)
        sent = 0
        async for block_bytes in _split_blocks(raw):
            for block in self.fault.blocks(exchange, SSEBlock.parse(block_bytes)):
                if abort_after is not None and sent >= abort_after:
                    raise ConnectionAbortedByFault(f"dropped after {sent} blocks")
                yield self.fault.render(exchange, block)
                sent += not block.is_comment
        for block in self.fault.stream_end(exchange):
            yield self.fault.render(exchange, block)
        if tail := self.fault.tail(exchange):
            yield tail

    async def _whole(self, exchange: Exchange, response: httpx.Response) -> AsyncIterator[bytes]:
        body = await response.aread()
        if (exchange.header("content-type") or "").startswith("application/json") and body.strip():
            body = self.fault.json_body(exchange, body)
        yield body


@contextlib.contextmanager
def running_proxy(upstream: str, fault: str | Fault) -> Iterator[str]:
    """Serve a ``FaultProxy`` on a free loopback port; yields its URL; stops it on exit."""
    chosen = FAULTS[fault]() if isinstance(fault, str) else fault
    port = free_port()
    config = uvicorn.Config(
        FaultProxy(upstream, chosen),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan="off",
        timeout_graceful_shutdown=1,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"fault-proxy-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"the fault proxy did not start on port {port}")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
