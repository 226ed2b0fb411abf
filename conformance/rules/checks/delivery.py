"""Incremental delivery: a model's answer streams token by token, as the model produces it.

An *answer* is one message a chat model streamed, seen through its token events: the
``messages`` events of ``messages-tuple`` mode carrying its chunks, or the ``messages/partial``
events of ``messages`` mode carrying it as accumulated so far. Messages a node returned whole
(a tool's result, a summary built without a model) legitimately come in one event, so only
messages known to come from a model stream are judged: a message whose metadata names the
model (``ls_model_type``/``ls_provider``, as LangChain sets them), or an ``AIMessageChunk``
named after a model call's run (``lc_run--...``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from conformance.rules.context import EventView, StreamContext, Violation

MIN_WORDS_FOR_SEVERAL_EVENTS = 4
"""An answer of this many words is several tokens for any tokenizer: one content event for
all of it means the server merged the tokens."""
MIN_EVENTS_TO_TIME = 3
"""Fewer token events say too little about their spread."""
LIVE_MIN_STREAM_MS = 0.5
"""A real model's run takes longer than this from its metadata event to its last: a stream
that arrives whole within it was held back and sent in one burst."""
LIVE_MIN_TOKEN_EVENTS = 10
"""With a real model, only a stream of this many token events is timed whole: a busy
machine's pause (seen against langgraph dev on a loaded 2-core host) can bunch a short
stream, not the time a model takes to stream ten tokens and more."""
PACED_SPREAD_SHARE = 0.5
"""With the fake LLM's ``delay:MS``, k token events span about (k - 1) x MS; half of that
leaves room for a busy machine and still catches a buffered stream (a spread of ~0)."""

_MODEL_METADATA_KEYS = ("ls_model_type", "ls_provider")
MODEL_MESSAGE_ID_PREFIX = "lc_run--"


@dataclass(slots=True)
class Answer:
    """The token events of one model-streamed message."""

    message_id: str
    events: list[EventView] = field(default_factory=list)
    text: str = ""
    """The message's text once all its events arrived."""
    content_events: int = 0
    """How many of its events added text."""


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            str(part.get("text", "")) if isinstance(part, Mapping) else str(part)
            for part in content
        )
    return ""


def _from_model(message: Mapping[str, Any], metadata: Any) -> bool:
    if isinstance(metadata, Mapping) and any(key in metadata for key in _MODEL_METADATA_KEYS):
        return True
    # A chunk type alone proves nothing: a server may send an AI message a node wrote whole (a
    # parent graph re-emitting its subgraph's answer) as an ``AIMessageChunk``; only a model
    # call's run names its message ``lc_run--...``
    return message.get("type") == "AIMessageChunk" and str(message.get("id", "")).startswith(
        MODEL_MESSAGE_ID_PREFIX
    )


def model_answers(context: StreamContext) -> list[Answer]:
    """Every model-streamed message of the stream with its token events, in order of first
    appearance."""
    answers: dict[tuple[str, str], Answer] = {}
    metadata_of: dict[str, Any] = {}
    for view in context.events:
        payload = view.payload
        if view.base_name == "messages/metadata" and isinstance(payload, Mapping):
            for message_id, entry in payload.items():
                if isinstance(entry, Mapping):
                    metadata_of[message_id] = entry.get("metadata")
        elif view.base_name == "messages/partial" and isinstance(payload, list):
            for message in payload:
                if not isinstance(message, Mapping) or not isinstance(message.get("id"), str):
                    continue
                if not _from_model(message, metadata_of.get(message["id"])):
                    continue
                answer = answers.setdefault(("partial", message["id"]), Answer(message["id"]))
                text = _text(message.get("content"))
                answer.events.append(view)
                if text != answer.text:
                    answer.content_events += 1
                answer.text = text
        elif view.base_name == "messages" and isinstance(payload, list) and len(payload) == 2:
            chunk, metadata = payload
            if not isinstance(chunk, Mapping) or not isinstance(chunk.get("id"), str):
                continue
            if not _from_model(chunk, metadata):
                continue
            answer = answers.setdefault(("tuple", chunk["id"]), Answer(chunk["id"]))
            text = _text(chunk.get("content"))
            answer.events.append(view)
            if text:
                answer.content_events += 1
                answer.text += text
    return list(answers.values())


def token_events(context: StreamContext) -> Iterator[Violation]:
    if not context.ended_by_server:
        return  # a stream cut short may hold only the first event of an answer
    for answer in model_answers(context):
        words = len(answer.text.split())
        if answer.content_events == 1 and words >= MIN_WORDS_FOR_SEVERAL_EVENTS:
            first = answer.events[0]
            yield Violation(
                "messages.token-events",
                f"the model's answer {answer.message_id!r} ({words} words) arrived in one "
                f"{first.name} event, not token by token",
                event_index=first.index,
                expected="several token events",
                actual=answer.text[:120],
            )


def _least_spread_ms(context: StreamContext, events: int) -> tuple[float, str] | None:
    """How far apart the first and last of ``events`` token events must arrive, and why;
    None when the model's pace is unknown. Only the fake LLM's ``delay:MS`` makes it known: a
    real model may be quick, and a busy machine (a client or server paused for a moment)
    bunches a quick answer's tokens on langgraph dev itself, so a live run's answers are not
    timed one by one (``_held_back`` still judges its whole stream)."""
    delay = context.model_delay_ms
    if delay and not context.source.live_model:
        return (
            (events - 1) * delay * PACED_SPREAD_SHARE,
            f"the fake LLM waited {delay} ms before each chunk",
        )
    return None


def _model_message_ids(messages: Any) -> set[str]:
    """The ids of the messages a chat model made: LangChain names them after the model
    call's run (``lc_run--...``); an AI message a node wrote itself has another id, and came
    at no model's pace."""
    if not isinstance(messages, list):
        return set()
    return {
        message["id"]
        for message in messages
        if isinstance(message, Mapping)
        and message.get("type") in ("ai", "AIMessageChunk")
        and isinstance(message.get("id"), str)
        and message["id"].startswith(MODEL_MESSAGE_ID_PREFIX)
    }


def _first_model_output(context: StreamContext) -> EventView | None:
    """The first event that carries something the model produced in this run: a token event,
    an update with a model's message, or a values event with a model's message that the run's
    input state (its first values event) did not hold."""
    tokens = {id(view) for answer in model_answers(context) for view in answer.events}
    input_ids: set[str] | None = None
    for view in context.events[1:]:
        if id(view) in tokens:
            return view
        payload = view.payload
        if view.base_name == "values" and isinstance(payload, Mapping):
            ids = _model_message_ids(payload.get("messages"))
            if input_ids is None:
                input_ids = ids
            elif ids - input_ids:
                return view
        elif view.base_name == "updates" and isinstance(payload, Mapping):
            for update in payload.values():
                if isinstance(update, Mapping) and _model_message_ids(update.get("messages")):
                    return view
    return None


def _held_back(context: StreamContext) -> Iterator[Violation]:
    """A stream held back until the run ends arrives whole, at once: its metadata, the
    model's output and everything after it, though the model took time to produce it.

    The whole stream is timed, not the gap before the first output: a client or server
    paused for a moment by a busy machine bunches a few events together, but not a whole
    stream that took a model's time to make."""
    if not context.events or context.events[0].name != "metadata":
        return
    if context.source.live_model:
        tokens = sum(len(answer.events) for answer in model_answers(context))
        if tokens < LIVE_MIN_TOKEN_EVENTS:
            return  # a short stream is bunched whole by a moment's pause of a busy machine
        least, why = LIVE_MIN_STREAM_MS, f"a real model streamed {tokens} token events"
    elif context.model_delay_ms:
        delay = context.model_delay_ms
        least, why = delay * PACED_SPREAD_SHARE, f"the fake LLM waited {delay} ms per chunk"
    else:
        return
    output = _first_model_output(context)
    if output is None:
        return
    start, end = context.arrival_ms(context.events[0]), context.arrival_ms(context.events[-1])
    if start is None or end is None:
        return
    if end - start < least:
        yield Violation(
            "stream.incremental",
            f"the whole stream, from its metadata to its last event (the model's output "
            f"from {output.name} event {output.index} on), arrived within {end - start:.1f} ms "
            f"though {why}: it was held back until the run ended",
            event_index=0,
            expected=f">= {least:.0f} ms from the metadata event to the last event",
            actual=round(end - start, 1),
        )


def _bunched(context: StreamContext, answer: Answer) -> Violation | None:
    """The violation when this answer's token events came together, None when they came
    spread (or cannot be timed)."""
    least = _least_spread_ms(context, len(answer.events))
    times = [context.arrival_ms(view) for view in answer.events]
    if least is None or any(time is None for time in times):
        return None
    spread = max(times) - min(times)  # type: ignore[type-var,operator]
    if spread >= least[0]:
        return None
    return Violation(
        "stream.incremental",
        f"the {len(answer.events)} token events of the answer {answer.message_id!r} arrived "
        f"within {spread:.1f} ms though {least[1]}, and so did those of every other answer "
        "of the stream: they were held back and sent together",
        event_index=answer.events[0].index,
        expected=f">= {least[0]:.0f} ms between the first and the last",
        actual=round(spread, 1),
    )


def incremental(context: StreamContext) -> Iterator[Violation]:
    if not context.creates_run:
        return  # a join may replay stored events at once: only a run's own stream is timed
    held = list(_held_back(context))
    if held:
        yield from held
        return  # the tokens of a held-back stream would only say it again
    timed = [
        answer for answer in model_answers(context) if len(answer.events) >= MIN_EVENTS_TO_TIME
    ]
    verdicts = [_bunched(context, answer) for answer in timed]
    # Every answer bunched: a server that buffers does it to all of them, while a moment's
    # pause of a busy machine bunches one answer at most.
    if verdicts and all(verdict is not None for verdict in verdicts):
        yield verdicts[0]  # type: ignore[misc]


CHECKS = (token_events, incremental)
