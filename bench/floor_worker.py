"""The in-process floor: the served graph driven with ``astream`` in its own process, no HTTP.

It runs as a child of the benchmark (``python -m bench.floor_worker``) so that its
CPU and memory can be read from /proc like a server's, and so that the load generator's own
work is not counted in it. It takes one JSON command per line on stdin and answers one JSON
line on stdout:

- ``{"op": "batch", "prompt", "min_tokens", "concurrency", "runs"}`` -> ``{"batch": ...}``
- ``{"op": "hold", "prompt", "count", "open_timeout", "hold_seconds"}`` -> ``{"held": true}``
  once the runs are open; then ``{"op": "release"}`` -> ``{"hold": ...}``
- ``{"op": "quit"}``
Errors answer ``{"error": "..."}``. It prints ``{"ready": true}`` once the graph is imported.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from langgraph.checkpoint.memory import InMemorySaver
from langgraph.pregel import Pregel

from bench.event_loop import run
from bench.graph_loading import graph_spec, import_graph
from bench.load import HeldStream, hold_streams, run_closed_loop
from bench.samples import RunSample
from bench.sse_tally import message_has_text

# The API's stream modes and the graph stream mode each one is made from.
_GRAPH_MODES = {
    "values": "values",
    "updates": "updates",
    "messages": "messages",
    "messages-tuple": "messages",
    "custom": "custom",
    "debug": "debug",
    "tasks": "tasks",
    "checkpoints": "checkpoints",
}


def graph_stream_modes(api_modes: list[str]) -> list[str]:
    """The graph ``astream`` modes a server needs for the API stream modes, in order, once
    each. ``events`` comes from ``astream_events``, which the floor does not drive."""
    modes: list[str] = []
    for mode in api_modes:
        if mode not in _GRAPH_MODES:
            raise ValueError(
                f"the in-process floor cannot stream mode {mode!r}; it supports "
                + ", ".join(sorted(_GRAPH_MODES))
            )
        if _GRAPH_MODES[mode] not in modes:
            modes.append(_GRAPH_MODES[mode])
    return modes


class GraphRunner:
    """Runs the served graph as a server's run would: a factory is called with the run's
    config, and the graph gets an ``InMemorySaver`` (the checkpointer every server attaches)
    unless told otherwise. Shared by both graph floors: in-process and behind bare HTTP."""

    def __init__(self, graph: Any, *, modes: list[str], checkpointer: bool) -> None:
        if isinstance(graph, Pregel) and checkpointer:
            graph = graph.copy(update={"checkpointer": InMemorySaver()})
        self._graph = graph
        self._modes = modes
        self._checkpointer = checkpointer

    async def _graph_for(self, config: dict[str, Any]) -> Any:
        if isinstance(self._graph, Pregel):
            return self._graph
        # A factory taking the run's config, as langgraph.json allows.
        built = self._graph(config)
        if asyncio.iscoroutine(built):
            built = await built
        if self._checkpointer and isinstance(built, Pregel):
            built = built.copy(update={"checkpointer": InMemorySaver()})
        return built

    async def stream(
        self, graph_input: Any, configurable: dict[str, Any]
    ) -> AsyncIterator[tuple[str, Any]]:
        """``(graph mode, chunk)`` pairs of one run of the graph with ``configurable``."""
        config: dict[str, Any] = {"configurable": configurable}
        graph = await self._graph_for(config)
        async for mode, chunk in graph.astream(graph_input, config, stream_mode=self._modes):
            yield mode, chunk


class Floor:
    """Runs the graph for one prompt at a time, like a server's run, minus HTTP."""

    def __init__(self, runner: GraphRunner, *, llm_url: str) -> None:
        self._runner = runner
        self._llm_url = llm_url

    def _stream(self, prompt: str) -> AsyncIterator[tuple[str, Any]]:
        graph_input = {"messages": [{"role": "user", "content": prompt}]}
        configurable = {"base_url": self._llm_url, "thread_id": str(uuid.uuid4())}
        return self._runner.stream(graph_input, configurable)

    async def run_once(self, prompt: str, min_tokens: int) -> RunSample:
        started = time.perf_counter()
        events = tokens = 0
        first_token = last_token = None
        async for mode, chunk in self._stream(prompt):
            at = time.perf_counter() - started
            events += 1
            if mode == "messages" and message_has_text(getattr(chunk[0], "content", None)):
                tokens += 1
                if first_token is None:
                    first_token = at
                last_token = at
        latency = time.perf_counter() - started
        error = None
        if tokens < min_tokens:
            error = f"{tokens} token chunks, expected at least {min_tokens}"
        return RunSample(
            ok=error is None,
            latency=latency,
            events=events,
            token_events=tokens,
            first_token_at=first_token,
            last_token_at=last_token,
            error=error,
        )

    async def hold_open(self, prompt: str, stream: HeldStream) -> str:
        chunks = 0
        async for _mode, _chunk in self._stream(prompt):
            chunks += 1
            stream.mark_active()
        return f"run ended after {chunks} chunks while held open"


class _Protocol:
    def __init__(self, reader: asyncio.StreamReader) -> None:
        self._reader = reader

    async def receive(self) -> dict[str, Any]:
        line = await self._reader.readline()
        if not line:
            return {"op": "quit"}
        command = json.loads(line)
        if not isinstance(command, dict) or "op" not in command:
            raise ValueError(f"a command is a JSON object with an 'op', got {line[:100]!r}")
        return command

    @staticmethod
    def send(message: dict[str, Any]) -> None:
        sys.stdout.write(json.dumps(message) + "\n")
        sys.stdout.flush()


async def _serve(floor: Floor) -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=2**24)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    protocol = _Protocol(reader)
    protocol.send({"ready": True})
    while True:
        command = await protocol.receive()
        operation = command["op"]
        try:
            if operation == "quit":
                return
            if operation == "batch":
                prompt, min_tokens = str(command["prompt"]), int(command["min_tokens"])

                async def run_one(
                    index: int, prompt: str = prompt, minimum: int = min_tokens
                ) -> RunSample:
                    return await floor.run_once(prompt, minimum)

                batch = await run_closed_loop(
                    run_one, concurrency=int(command["concurrency"]), runs=int(command["runs"])
                )
                protocol.send({"batch": batch.to_json()})
            elif operation == "hold":
                hold_prompt = str(command["prompt"])

                async def open_one(
                    index: int, stream: HeldStream, prompt: str = hold_prompt
                ) -> str:
                    return await floor.hold_open(prompt, stream)

                async def wait_for_release() -> None:
                    protocol.send({"held": True})
                    release = await protocol.receive()
                    if release["op"] != "release":
                        raise ValueError(
                            f"expected a release while streams are held, got {release}"
                        )

                outcome, _ = await hold_streams(
                    open_one,
                    count=int(command["count"]),
                    open_timeout=float(command["open_timeout"]),
                    hold_seconds=float(command["hold_seconds"]),
                    measure=wait_for_release,
                )
                protocol.send({"hold": outcome.to_json()})
            else:
                protocol.send({"error": f"unknown op {operation!r}"})
        except Exception as error:  # reported to the parent, which raises it there
            protocol.send({"error": f"{type(error).__name__}: {error}"})


def _parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.floor_worker")
    parser.add_argument("--config", type=Path, required=True, help="the langgraph.json")
    parser.add_argument("--graph", required=True, help="graph id in the config")
    parser.add_argument("--llm-url", required=True, help="OpenAI-compatible base URL")
    parser.add_argument("--stream-mode", required=True, help="API stream modes, comma separated")
    parser.add_argument("--no-checkpointer", action="store_true", help="run without InMemorySaver")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    arguments = _parse_arguments(argv)
    config_path = arguments.config.resolve()
    graph = import_graph(graph_spec(config_path, arguments.graph), config_path.parent)
    runner = GraphRunner(
        graph,
        modes=graph_stream_modes(arguments.stream_mode.split(",")),
        checkpointer=not arguments.no_checkpointer,
    )
    floor = Floor(runner, llm_url=arguments.llm_url)
    run(_serve(floor))
    return 0


if __name__ == "__main__":
    sys.exit(main())
