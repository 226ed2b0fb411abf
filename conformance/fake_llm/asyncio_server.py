"""A small HTTP/1.1 server for the fake LLM's ASGI app on the standard library alone.

So that ``conformance check`` from a bare install (no granian, no uvicorn) can still start the
fake LLM the scenario graphs call. It serves one request per connection (``connection:
close``): the OpenAI clients here never pipeline and reconnect at once, and the suite sends a
few hundred requests a run, not the benchmarks' thousands. Responses without a length are
sent chunked; an app that raises mid-body (``fault:cut``) gets its connection dropped without
the closing chunk, as granian and uvicorn do.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import MutableMapping
from http import HTTPStatus
from typing import Any
from urllib.parse import unquote

from conformance.fake_llm.app import FakeLLMApp

_MAX_HEAD_BYTES = 64 * 1024
_BACKLOG = 1024


class _BadRequest(Exception):
    """The request could not be parsed; the message goes back in a 400."""


async def _read_request(
    reader: asyncio.StreamReader,
) -> tuple[str, str, str, list[tuple[bytes, bytes]], bytes]:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.LimitOverrunError as error:
        raise _BadRequest("the request head is too large") from error
    lines = head[:-4].split(b"\r\n")
    try:
        method, target, version = lines[0].decode("latin-1").split(" ")
    except ValueError as error:
        raise _BadRequest(f"a malformed request line: {lines[0]!r}") from error
    headers: list[tuple[bytes, bytes]] = []
    for line in lines[1:]:
        name, separator, value = line.partition(b":")
        if not separator:
            raise _BadRequest(f"a malformed header line: {line!r}")
        headers.append((name.strip().lower(), value.strip()))
    lengths = [value for name, value in headers if name == b"content-length"]
    if any(name == b"transfer-encoding" for name, _ in headers):
        raise _BadRequest("chunked request bodies are not supported; send a content-length")
    try:
        length = int(lengths[0]) if lengths else 0
    except ValueError as error:
        raise _BadRequest(f"a malformed content-length: {lengths[0]!r}") from error
    body = await reader.readexactly(length) if length else b""
    return method, target, version, headers, body


class _Connection:
    """One request and its response, over one connection."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.request_body: bytes | None = None
        self.started = False
        self.chunked = False
        self.finished = False

    async def receive(self) -> MutableMapping[str, Any]:
        if self.request_body is not None:
            body, self.request_body = self.request_body, None
            return {"type": "http.request", "body": body, "more_body": False}
        # After the body, the only news is the client leaving.
        while await self.reader.read(65536):
            pass
        return {"type": "http.disconnect"}

    async def send(self, message: MutableMapping[str, Any]) -> None:
        if message["type"] == "http.response.start":
            headers = list(message.get("headers", []))
            names = {name.lower() for name, _ in headers}
            self.chunked = b"content-length" not in names
            if self.chunked:
                headers.append((b"transfer-encoding", b"chunked"))
            headers.append((b"connection", b"close"))
            status = int(message["status"])
            reason = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else ""
            head = [f"HTTP/1.1 {status} {reason}".encode("latin-1")]
            head += [name + b": " + value for name, value in headers]
            self.writer.write(b"\r\n".join(head) + b"\r\n\r\n")
            self.started = True
            return
        if message["type"] != "http.response.body" or self.finished:
            return
        body = message.get("body", b"")
        more = bool(message.get("more_body", False))
        if self.chunked:
            if body:
                self.writer.write(b"%x\r\n" % len(body) + body + b"\r\n")
            if not more:
                self.writer.write(b"0\r\n\r\n")
        elif body:
            self.writer.write(body)
        self.finished = not more
        await self.writer.drain()


async def _respond_plain(writer: asyncio.StreamWriter, status: int, text: str) -> None:
    body = text.encode()
    writer.write(
        f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\ncontent-type: text/plain\r\n"
        f"content-length: {len(body)}\r\nconnection: close\r\n\r\n".encode()
        + body
    )
    await writer.drain()


def _handler(app: FakeLLMApp) -> Any:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            try:
                method, target, version, headers, body = await _read_request(reader)
            except _BadRequest as error:
                await _respond_plain(writer, 400, str(error))
                return
            except (asyncio.IncompleteReadError, ConnectionError):
                return
            path, _, query = target.partition("?")
            connection = _Connection(reader, writer)
            connection.request_body = body
            scope = {
                "type": "http",
                "asgi": {"version": "3.0"},
                "http_version": version.removeprefix("HTTP/"),
                "method": method,
                "scheme": "http",
                "path": unquote(path),
                "raw_path": path.encode("latin-1"),
                "query_string": query.encode("latin-1"),
                "headers": headers,
                "server": writer.get_extra_info("sockname"),
                "client": writer.get_extra_info("peername"),
            }
            try:
                await app(scope, connection.receive, connection.send)
            except Exception:
                if not connection.started:
                    await _respond_plain(writer, 500, "the fake LLM failed")
                    return
                # Mid-body (fault:cut, or a bug): drop the connection, no closing chunk.
                writer.transport.abort()
                return
            if not connection.finished and connection.started:
                writer.transport.abort()
        except ConnectionError:
            return
        finally:
            with contextlib.suppress(Exception):
                writer.close()
                await writer.wait_closed()

    return handle


async def serve(app: FakeLLMApp, host: str, port: int) -> None:
    """Serve ``app`` until the process is stopped."""
    server = await asyncio.start_server(
        _handler(app), host, port, limit=_MAX_HEAD_BYTES, backlog=_BACKLOG, reuse_address=True
    )
    async with server:
        await server.serve_forever()


def run(app: FakeLLMApp, host: str, port: int) -> None:
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(app, host, port))
