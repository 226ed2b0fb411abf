"""The fake LLM as a plain ASGI application: routing, body reading, pacing, faults.

No framework: benchmarks hold a thousand slow streams open and drive hundreds of concurrent
ones on two cores, so every request costs one parse, one script selection and a few writes.

Routes: ``POST /v1/chat/completions`` (streamed or not), ``GET /v1/models``, ``GET /ok`` and
``GET /health`` (readiness). Everything the reply says comes from :mod:`.scripts` and
:mod:`.chunks`; this module only decides when bytes are written and how a response ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from typing import Any

import orjson

from conformance.asgi import (
    JSON_HEADERS,
    MAX_BODY_BYTES,
    Receive,
    Scope,
    Send,
    read_body,
    send_json,
    serve_lifespan,
)
from conformance.fake_llm.chunks import (
    WirePlan,
    completion_plan,
    error_body,
    fault_status,
    models_list,
    stream_plan,
)
from conformance.fake_llm.scripts import Fault, RequestError, Script, select_script

TOKEN_DELAY_ENVIRONMENT_VARIABLE = "CONFORMANCE_FAKE_LLM_TOKEN_DELAY_MS"
"""Read by :func:`app_from_environment`, the factory the CLI hands to the ASGI server."""
_STREAM_HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),
]


class ConnectionAborted(Exception):
    """Raised on purpose so the ASGI server drops the connection mid-body (``fault:cut``)."""


class FakeLLMApp:
    """The ASGI callable. ``token_delay_ms`` is the pause before each streamed chunk unless a
    request's ``delay:MS`` directive says otherwise."""

    def __init__(self, token_delay_ms: int = 0) -> None:
        if token_delay_ms < 0:
            raise ValueError(f"token_delay_ms must be >= 0, got {token_delay_ms}")
        self.token_delay_ms = token_delay_ms
        self.replies_in_progress = 0
        """Chat completions being answered now (slow streams and hangs included); the
        readiness body reports it so tests and benchmarks can see streams held or released."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await serve_lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        path = scope["path"]
        method = scope["method"]
        if path in ("/ok", "/health", "/v1/models"):
            if method not in ("GET", "HEAD"):
                await _send_error(send, 405, f"{method} is not allowed on {path}; use GET")
                return
            if path == "/v1/models":
                body = orjson.dumps(models_list())
            else:
                body = orjson.dumps(
                    {"status": "ok", "replies_in_progress": self.replies_in_progress}
                )
            await send_json(send, 200, body)
            return
        if path == "/v1/chat/completions":
            if method != "POST":
                await _send_error(send, 405, f"{method} is not allowed on {path}; use POST")
                return
            self.replies_in_progress += 1
            try:
                await self._chat_completions(receive, send)
            finally:
                self.replies_in_progress -= 1
            return
        await _send_error(send, 404, f"no route for {method} {path}", code="unknown_url")

    async def _chat_completions(self, receive: Receive, send: Send) -> None:
        raw = await read_body(receive)
        if raw is None:
            await _send_error(send, 413, f"the request body exceeds {MAX_BODY_BYTES} bytes")
            return
        try:
            request = orjson.loads(raw)
        except orjson.JSONDecodeError as error:
            await _send_error(send, 400, f"the request body is not valid JSON: {error}")
            return
        try:
            options = _RequestOptions.parse(request)
            script = select_script(request)
        except RequestError as error:
            await _send_error(send, 400, str(error), param=error.param)
            return

        if script.fault in (Fault.SERVER_ERROR, Fault.RATE_LIMITED):
            status, body, headers = fault_status(script.fault)
            await send_json(send, status, orjson.dumps(body), headers)
            return
        if script.fault is Fault.HANG:
            await _wait_for_disconnect(receive)
            return

        delay_ms = self.token_delay_ms if script.delay_ms is None else script.delay_ms
        if options.stream:
            plan = stream_plan(script, model=options.model, include_usage=options.include_usage)
            await _send_paced(receive, send, plan, _STREAM_HEADERS, delay_ms)
        else:
            plan = completion_plan(script, model=options.model)
            headers = list(JSON_HEADERS)
            if not plan.abort:
                headers.append((b"content-length", str(len(plan.frames[0])).encode()))
            # One body, so it waits as long as the streamed reply would have taken in all.
            await _send_paced(
                receive, send, plan, headers, delay_ms * _streamed_chunk_count(script)
            )


def create_app(token_delay_ms: int = 0) -> FakeLLMApp:
    return FakeLLMApp(token_delay_ms=token_delay_ms)


def app_from_environment() -> FakeLLMApp:
    """Factory for ASGI servers that import their target: the delay comes from the environment."""
    raw = os.environ.get(TOKEN_DELAY_ENVIRONMENT_VARIABLE, "0")
    try:
        token_delay_ms = int(raw)
    except ValueError:
        raise ValueError(
            f"{TOKEN_DELAY_ENVIRONMENT_VARIABLE} must be an integer number of ms, got {raw!r}"
        ) from None
    return create_app(token_delay_ms)


class _RequestOptions:
    """The request fields that shape the response but not its content."""

    __slots__ = ("include_usage", "model", "stream")

    def __init__(self, *, stream: bool, include_usage: bool, model: str) -> None:
        self.stream = stream
        self.include_usage = include_usage
        self.model = model

    @classmethod
    def parse(cls, request: Any) -> _RequestOptions:
        if not isinstance(request, dict):
            raise RequestError("the request body must be a JSON object")
        stream = request.get("stream", False)
        if stream is None:
            stream = False
        if not isinstance(stream, bool):
            raise RequestError("'stream' must be a boolean", param="stream")
        stream_options = request.get("stream_options")
        if stream_options is None:
            stream_options = {}
        if not isinstance(stream_options, dict):
            raise RequestError("'stream_options' must be an object", param="stream_options")
        include_usage = stream_options.get("include_usage", False)
        if include_usage is None:
            include_usage = False
        if not isinstance(include_usage, bool):
            raise RequestError(
                "'stream_options.include_usage' must be a boolean",
                param="stream_options.include_usage",
            )
        model = request.get("model", "fake")
        if not isinstance(model, str):
            raise RequestError("'model' must be a string", param="model")
        return cls(stream=stream, include_usage=include_usage, model=model)


def _streamed_chunk_count(script: Script) -> int:
    """Chunks the streamed reply would pace: role, tokens or call pieces, finish."""
    return 2 + script.completion_tokens


async def _send_paced(
    receive: Receive,
    send: Send,
    plan: WirePlan,
    headers: list[tuple[bytes, bytes]],
    delay_ms: int,
) -> None:
    """Write the plan's frames, ``delay_ms`` before each, and stop early if the client left.

    Without a delay the frames go out in one write: a client parses events, not writes, and
    the benchmarks need the fake LLM to cost as little as possible.
    """
    if delay_ms <= 0:
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send(
            {"type": "http.response.body", "body": b"".join(plan.frames), "more_body": plan.abort}
        )
        if plan.abort:
            raise ConnectionAborted("intentional: fault:cut drops the connection mid-body")
        return

    writer = asyncio.current_task()
    assert writer is not None
    watcher = asyncio.create_task(_cancel_on_disconnect(receive, writer))
    try:
        delay_seconds = delay_ms / 1000
        started = False
        for frame in plan.frames:
            await asyncio.sleep(delay_seconds)
            if not started:
                await send({"type": "http.response.start", "status": 200, "headers": headers})
                started = True
            await send({"type": "http.response.body", "body": frame, "more_body": True})
        if plan.abort:
            raise ConnectionAborted("intentional: fault:cut drops the connection mid-body")
        await send({"type": "http.response.body", "body": b"", "more_body": False})
    except asyncio.CancelledError:
        if watcher.done() and not watcher.cancelled():
            # The client went away: nothing left to send to, so end quietly.
            writer.uncancel()
            return
        raise
    finally:
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher


async def _cancel_on_disconnect(receive: Receive, writer: asyncio.Task[Any]) -> None:
    await _wait_for_disconnect(receive)
    writer.cancel()


async def _wait_for_disconnect(receive: Receive) -> None:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return


async def _send_error(
    send: Send, status: int, message: str, *, param: str | None = None, code: str | None = None
) -> None:
    error_type = "invalid_request_error" if status < 500 else "server_error"
    body = error_body(message, error_type=error_type, param=param, code=code)
    await send_json(send, status, orjson.dumps(body))
