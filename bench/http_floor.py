"""The HTTP floor: the served graph behind the thinnest HTTP server that can stream it.

One raw ASGI app on granian (the ASGI server the reference server runs on, started the same
way), and nothing a real server keeps: no framework, no records, no auth, no run manager.

- ``POST /threads`` answers ``{"thread_id": <a new id>}``;
- ``POST /threads/{id}/runs/stream`` and ``POST /runs/stream`` read the JSON body, drive the
  graph's ``astream`` with the body's ``input`` and ``config.configurable`` (plus the thread
  id) and write a ``metadata`` event, then one SSE event per graph chunk, framed and encoded as
  the reference server frames and encodes them (``messages`` chunks as ``[chunk, metadata]``,
  as messages-tuple sends them); a graph failure ends the stream with an ``error`` event;
- ``GET /ok`` answers ``{"ok": true}`` (the benchmark waits for it); anything else 404.

What it costs beyond the in-process floor is what HTTP, SSE and the JSON of each event cost on
this machine: the part of a server's cost that no server of the protocol can avoid, so the
benchmark's goals can be read against it. Run it as ``python -m bench.http_floor --config
langgraph.json --graph agent --stream-mode values,messages-tuple --port 8123``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import uuid
from pathlib import Path
from typing import Any

import orjson

from bench.floor_worker import GraphRunner, graph_stream_modes
from bench.graph_loading import graph_spec, import_graph
from conformance.asgi import Receive, Scope, Send, read_body, send_json, serve_lifespan
from reference_server.streaming.serialise import dumps
from reference_server.streaming.sse import CONTENT_TYPE, encode_event

SETTINGS_ENVIRONMENT_VARIABLE = "BENCH_HTTP_FLOOR_SETTINGS"
"""How the command hands its settings to granian's worker process."""

_SSE_HEADERS = [(b"content-type", CONTENT_TYPE.encode()), (b"cache-control", b"no-store")]
_END = {"type": "http.response.body", "body": b"", "more_body": False}


class HttpFloorApp:
    """The ASGI app: threads are only ids, runs only the graph's stream."""

    def __init__(self, runner: GraphRunner) -> None:
        self._runner = runner

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await serve_lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        parts = scope["path"].strip("/").split("/")
        if scope["method"] == "GET" and parts == ["ok"]:
            await _json(send, 200, {"ok": True})
        elif scope["method"] == "POST" and parts == ["threads"]:
            await read_body(receive)
            await _json(send, 200, {"thread_id": str(uuid.uuid4())})
        elif scope["method"] == "POST" and parts == ["runs", "stream"]:
            await self._stream_run(receive, send, str(uuid.uuid4()))
        elif scope["method"] == "POST" and len(parts) == 4 and parts[::2] == ["threads", "runs"]:
            await self._stream_run(receive, send, parts[1])
        else:
            await _json(send, 404, {"detail": "Not Found"})

    async def _stream_run(self, receive: Receive, send: Send, thread_id: str) -> None:
        raw = await read_body(receive)
        if raw is None:
            await _json(send, 413, {"detail": "the request body is too large"})
            return
        try:
            body = orjson.loads(raw)
            graph_input = body["input"]
            configurable = dict((body.get("config") or {}).get("configurable") or {})
        except (orjson.JSONDecodeError, KeyError, TypeError, AttributeError) as error:
            await _json(send, 422, {"detail": f"not a run request: {error!r}"})
            return
        run_id = str(uuid.uuid4())
        configurable.update(thread_id=thread_id, run_id=run_id)
        await send({"type": "http.response.start", "status": 200, "headers": _SSE_HEADERS})
        await _event(send, "metadata", {"run_id": run_id, "attempt": 1})
        try:
            async for mode, chunk in self._runner.stream(graph_input, configurable):
                # A message chunk comes as a (chunk, metadata) tuple: an array on the wire.
                await _event(send, mode, list(chunk) if mode == "messages" else chunk)
        except Exception as error:
            # A failed graph ends the stream with an error event, as servers do. When the
            # client is gone that write fails too, and there is nobody left to tell.
            with contextlib.suppress(Exception):
                await _event(send, "error", {"error": type(error).__name__, "message": str(error)})
                await send(_END)
            return
        await send(_END)


async def _event(send: Send, name: str, payload: Any) -> None:
    body = encode_event(name, dumps(payload))
    await send({"type": "http.response.body", "body": body, "more_body": True})


async def _json(send: Send, status: int, payload: Any) -> None:
    await send_json(send, status, orjson.dumps(payload))


def create_app(config_path: Path, graph_id: str, stream_modes: list[str]) -> HttpFloorApp:
    config_path = config_path.resolve()
    graph = import_graph(graph_spec(config_path, graph_id), config_path.parent)
    runner = GraphRunner(graph, modes=graph_stream_modes(stream_modes), checkpointer=True)
    return HttpFloorApp(runner)


def create_app_from_environment() -> HttpFloorApp:
    """The factory granian's worker calls: the settings come from the command."""
    settings = json.loads(os.environ[SETTINGS_ENVIRONMENT_VARIABLE])
    return create_app(Path(settings["config"]), settings["graph"], settings["stream_mode"])


def _parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.http_floor")
    parser.add_argument("--config", type=Path, required=True, help="the langgraph.json")
    parser.add_argument("--graph", required=True, help="graph id in the config")
    parser.add_argument("--stream-mode", required=True, help="API stream modes, comma separated")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind")
    parser.add_argument("--port", type=int, required=True, help="port to listen on")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    arguments = _parse_arguments(argv)
    stream_modes = arguments.stream_mode.split(",")
    # Fail here, not in the worker: an unknown graph or mode is a usage error.
    graph_spec(arguments.config.resolve(), arguments.graph)
    graph_stream_modes(stream_modes)

    from granian.constants import Interfaces
    from granian.server import Server

    os.environ[SETTINGS_ENVIRONMENT_VARIABLE] = json.dumps(
        {
            "config": str(arguments.config.resolve()),
            "graph": arguments.graph,
            "stream_mode": stream_modes,
        }
    )
    # As the reference server runs granian: one worker, the same interface and defaults.
    Server(
        "bench.http_floor:create_app_from_environment",
        address=arguments.host,
        port=arguments.port,
        interface=Interfaces.ASGI,
        workers=1,
        factory=True,
        websockets=False,
    ).serve()
    return 0


if __name__ == "__main__":
    sys.exit(main())
