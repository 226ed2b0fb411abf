"""The one place where LangGraph stream chunks become API events ``(event name, payload)``.

What ``langgraph dev`` sends, as observed on the wire:

- ``values``, ``updates``, ``debug``, ``custom``, ``tasks``, ``checkpoints``: the chunk as is,
  under the mode's name, or ``<mode>|<namespace>`` for a chunk from a subgraph.
- ``messages-tuple``: ``messages`` (``messages|<namespace>`` in a subgraph) with
  ``[message chunk, metadata]``.
- ``messages``: per message, ``messages/metadata`` ``{id: {"metadata": ...}}`` once, then
  ``messages/partial`` ``[message so far]`` for each streamed chunk, or ``messages/complete``
  ``[message]`` for a message that arrives whole (a tool result). Never a namespace suffix.
  When ``messages-tuple`` is requested too, only the tuples are sent.
- ``events``: every ``astream_events`` v2 event except the root graph's ``on_chain_stream``,
  whose chunks feed the other requested modes instead.

Metadata that reaches clients has its credential-named values masked (see ``redaction``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, cast

from langchain_core.messages import BaseMessage, BaseMessageChunk, message_chunk_to_message

from reference_server.streaming.redaction import redact_metadata

Event = tuple[str, Any]

_PASS_THROUGH_MODES = frozenset({"values", "updates", "debug", "custom", "tasks", "checkpoints"})


class EventMapper:
    """Maps the chunks of one run's graph stream to API events; keeps the per-message state the
    ``messages`` mode needs, so use one mapper per run."""

    def __init__(self, modes: Sequence[str]) -> None:
        self._modes = frozenset(modes)
        self._tuples = "messages-tuple" in self._modes
        # ``messages`` is shadowed by ``messages-tuple`` when both are asked for (as upstream).
        self._accumulate = "messages" in self._modes and not self._tuples
        self._seen_messages: set[str] = set()
        self._chunks: dict[str, BaseMessageChunk] = {}
        self._root_run_id: str | None = None
        # LangGraph hands every token of one model call the same metadata dict: mask it once.
        self._metadata_source: Mapping[str, Any] | None = None
        self._metadata_redacted: dict[str, Any] = {}

    def map_chunk(self, namespace: Sequence[str], mode: str, chunk: Any) -> list[Event]:
        """Events for one ``astream`` item (``mode`` is the LangGraph mode)."""
        if mode == "messages":
            return self._map_message(namespace, chunk)
        if mode == "debug" and mode in self._modes:
            return [(_event_name(mode, namespace), _debug_payload(chunk))]
        if mode == "checkpoints" and mode in self._modes:
            return [(_event_name(mode, namespace), _redacted_checkpoint(chunk))]
        if mode in _PASS_THROUGH_MODES and mode in self._modes:
            return [(_event_name(mode, namespace), chunk)]
        return []

    def map_stream_item(self, item: Any, *, subgraphs: bool) -> list[Event]:
        """Events for one raw item of ``astream(stream_mode=[...], subgraphs=...)``."""
        if subgraphs:
            namespace, mode, chunk = item
        else:
            namespace, (mode, chunk) = (), item
        return self.map_chunk(namespace, mode, chunk)

    def map_graph_event(self, event: Mapping[str, Any], *, subgraphs: bool) -> list[Event]:
        """Events for one ``astream_events`` v2 event."""
        if self._root_run_id is None and event.get("event") == "on_chain_start":
            self._root_run_id = str(event.get("run_id"))
        is_root = not event.get("parent_ids") and str(event.get("run_id")) == self._root_run_id
        if is_root and event.get("event") == "on_chain_stream":
            chunk = (event.get("data") or {}).get("chunk")
            return self.map_stream_item(chunk, subgraphs=subgraphs) if chunk is not None else []
        if "events" not in self._modes:
            return []
        return [("events", _redacted_event(event))]

    def _redacted_metadata(self, metadata: Mapping[str, Any]) -> dict[str, Any]:
        if metadata is not self._metadata_source:
            self._metadata_source = metadata
            self._metadata_redacted = redact_metadata(metadata)
        return self._metadata_redacted

    def _map_message(self, namespace: Sequence[str], chunk: Any) -> list[Event]:
        message, metadata = chunk
        metadata = self._redacted_metadata(metadata or {})
        if self._tuples:
            return [(_event_name("messages", namespace), [message, metadata])]
        if not self._accumulate or not isinstance(message, BaseMessage):
            return []
        events: list[Event] = []
        message_id = message.id or ""
        if message_id not in self._seen_messages:
            self._seen_messages.add(message_id)
            events.append(("messages/metadata", {message_id: {"metadata": metadata}}))
        if isinstance(message, BaseMessageChunk):
            previous = self._chunks.get(message_id)
            accumulated = (
                message if previous is None else cast(BaseMessageChunk, previous + message)
            )
            self._chunks[message_id] = accumulated
            events.append(("messages/partial", [message_chunk_to_message(accumulated)]))
        else:
            events.append(("messages/complete", [message]))
        return events


def _checkpoint_address(config: Any) -> dict[str, Any] | None:
    if not isinstance(config, Mapping):
        return None
    configurable = config.get("configurable") or {}
    return {
        "checkpoint_id": configurable.get("checkpoint_id"),
        "thread_id": configurable.get("thread_id"),
        "checkpoint_ns": configurable.get("checkpoint_ns", ""),
    }


def _redacted_config(config: Any) -> Any:
    if not isinstance(config, Mapping) or not isinstance(config.get("configurable"), Mapping):
        return config
    return {**config, "configurable": redact_metadata(config["configurable"])}


def _redacted_checkpoint(payload: Any) -> Any:
    """A checkpoint payload echoes the run's ``configurable``: mask its credentials too."""
    if not isinstance(payload, Mapping):
        return payload
    redacted = dict(payload)
    for key in ("config", "parent_config"):
        if key in redacted:
            redacted[key] = _redacted_config(redacted[key])
    if isinstance(redacted.get("metadata"), Mapping):
        redacted["metadata"] = redact_metadata(redacted["metadata"])
    return redacted


def _debug_payload(chunk: Any) -> Any:
    """Debug ``checkpoint`` events carry ``checkpoint``/``parent_checkpoint`` addresses upstream
    (taken from the payload's own configs), and echo the config like ``checkpoints``."""
    if not isinstance(chunk, Mapping) or chunk.get("type") != "checkpoint":
        return chunk
    payload = chunk.get("payload")
    if not isinstance(payload, Mapping):
        return chunk
    return {
        **chunk,
        "payload": {
            **_redacted_checkpoint(payload),
            "checkpoint": _checkpoint_address(payload.get("config")),
            "parent_checkpoint": _checkpoint_address(payload.get("parent_config")),
        },
    }


def _event_name(mode: str, namespace: Sequence[str]) -> str:
    return f"{mode}|{'|'.join(namespace)}" if namespace else mode


def _redacted_event(event: Mapping[str, Any]) -> dict[str, Any]:
    metadata = event.get("metadata")
    if not metadata:
        return dict(event)
    return {**event, "metadata": redact_metadata(metadata)}
