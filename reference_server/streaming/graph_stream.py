"""Drives one run of a graph and yields its API events in graph order.

The graph is driven with ``astream`` and the LangGraph modes that feed the requested API modes;
only when ``events`` is requested does it go through ``astream_events`` (v2), whose root
``on_chain_stream`` events carry the same chunks ``astream`` would have yielded.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.pregel import Pregel

from reference_server.streaming.mapper import Event, EventMapper
from reference_server.streaming.modes import graph_stream_modes


@dataclass(frozen=True, slots=True)
class GraphRunRequest:
    """What to run: the input (or a ``Command``), the config and how to stream it."""

    input: Any
    config: RunnableConfig
    stream_modes: Sequence[str]
    subgraphs: bool = False
    interrupt_before: Sequence[str] | str | None = None
    interrupt_after: Sequence[str] | str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    """More keyword arguments for ``astream`` (e.g. ``durability``, ``context``)."""


async def stream_graph_events(graph: Pregel, request: GraphRunRequest) -> AsyncIterator[Event]:
    """The run's events; exceptions of the graph propagate to the caller."""
    mapper = EventMapper(request.stream_modes)
    graph_modes = graph_stream_modes(request.stream_modes)
    keyword_arguments: dict[str, Any] = {
        "interrupt_before": request.interrupt_before,
        "interrupt_after": request.interrupt_after,
        "subgraphs": request.subgraphs,
        **request.extra,
    }
    if "events" in request.stream_modes:
        # Each event is mapped (and so serialised) only once the next one has arrived. The
        # payloads hold live objects that the graph goes on changing: create_agent names the
        # model's message right after on_chat_model_end. langgraph dev serialises an event when
        # its consumer takes it from a queue, after the graph has moved on, so its
        # on_chat_model_end output carries that name; a one-event lag sends the same bytes.
        pending: Mapping[str, Any] | None = None

        def held_back() -> list[Event]:
            if pending is None:
                return []
            return mapper.map_graph_event(pending, subgraphs=request.subgraphs)

        try:
            # astream needs at least one mode; "values" chunks are dropped unless asked for.
            async for graph_event in graph.astream_events(
                request.input,
                request.config,
                version="v2",
                stream_mode=graph_modes or ["values"],
                **keyword_arguments,
            ):
                for event in held_back():
                    yield event
                pending = graph_event
        except Exception:
            for event in held_back():
                yield event
            raise
        for event in held_back():
            yield event
        return
    async for item in graph.astream(
        request.input, request.config, stream_mode=graph_modes, **keyword_arguments
    ):
        for event in mapper.map_stream_item(item, subgraphs=request.subgraphs):
            yield event
