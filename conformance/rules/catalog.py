"""The protocol rules, as data: what a stream must (or should) look like, and why.

Each rule names its severity (MUST fails a run, SHOULD warns, MAY notes), the capability it
belongs to (``conformance.capabilities``), the server version it was observed on, and why a
client cares. The check functions in ``conformance.rules.checks`` cite these ids; the engine
takes severity from here, so a rule's weight is changed in one place.

"A false positive is worse than a false negative": a rule is MUST only when a real client
(langgraph_sdk, useStream) breaks without it, or the SSE spec makes it so.
"""

from __future__ import annotations

from dataclasses import dataclass

from conformance.capabilities import CAPABILITIES
from conformance.findings import Severity

OBSERVED_ON = "langgraph-api 0.16.7"
KEEPALIVE_LIMIT_MS = 15_000
"""Three of langgraph dev's 5 s heartbeat periods: slack for a busy machine."""


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    severity: Severity
    text: str
    """The requirement, one sentence."""
    capability: str
    why: str
    """What breaks without it, or where it comes from (a spec quote or an observation)."""
    observed_on: str = OBSERVED_ON


_RULE_LIST: tuple[Rule, ...] = (
    # --- framing -----------------------------------------------------------------------------
    Rule(
        "framing.utf8",
        Severity.MUST,
        "The event stream is valid UTF-8.",
        "sse_framing",
        'WHATWG HTML: "Event streams are always decoded as UTF-8"; invalid bytes reach the '
        "client as U+FFFD and the JSON payload is corrupted.",
    ),
    Rule(
        "framing.terminated",
        Severity.MUST,
        "When the server ends a stream, its last event is terminated by a blank line.",
        "sse_framing",
        'WHATWG HTML: "If the file ends in the middle of an event, before the final empty line, '
        'the incomplete event is not dispatched." The client loses that event.',
    ),
    Rule(
        "framing.event-without-data",
        Severity.SHOULD,
        "A block with an event: field also has a data: field.",
        "sse_framing",
        "A spec-following client dispatches nothing for a block without data, so the event "
        "name alone is silently lost (langgraph dev never sends one).",
    ),
    Rule(
        "framing.id-without-nul",
        Severity.SHOULD,
        "An id: value contains no NUL character.",
        "sse_framing",
        "WHATWG HTML: an id containing U+0000 is ignored, so Last-Event-ID would not advance.",
    ),
    Rule(
        "framing.retry-digits",
        Severity.MAY,
        "A retry: value is ASCII digits.",
        "sse_framing",
        "WHATWG HTML: any other retry value is ignored; harmless, but it does not do what the "
        "server meant.",
    ),
    Rule(
        "framing.keepalive",
        Severity.SHOULD,
        f"A stream is never silent for more than {KEEPALIVE_LIMIT_MS // 1000} s: it sends a "
        "comment (heartbeat) while it has no event to send.",
        "sse_framing",
        "Proxies and load balancers close idle connections; langgraph dev sends ': heartbeat' "
        "every 5 s (e.g. while an enqueued run waits for the one before it).",
    ),
    Rule(
        "stream.data-json",
        Severity.MUST,
        "The data of every event is one JSON document.",
        "sse_framing",
        "Both SDKs JSON-decode every data field; langgraph dev sends compact JSON on one line.",
    ),
    Rule(
        "stream.end-event",
        Severity.SHOULD,
        "A stream SHOULD NOT send an end event; it closes after its last event.",
        "sse_framing",
        "langgraph dev sends no end event. Some servers do and the SDKs accept it, so this is "
        "only a warning.",
    ),
    # --- headers -----------------------------------------------------------------------------
    Rule(
        "headers.content-type",
        Severity.MUST,
        "A stream answers Content-Type text/event-stream (a charset, if given, is utf-8).",
        "sse_framing",
        "langgraph_sdk refuses a stream whose content type is not text/event-stream; "
        "langgraph dev sends text/event-stream; charset=utf-8.",
    ),
    Rule(
        "headers.cache-control",
        Severity.SHOULD,
        "A stream answers Cache-Control: no-store.",
        "sse_framing",
        "Keeps caches and proxies from storing or coalescing a live stream; langgraph dev "
        "sends no-store.",
    ),
    Rule(
        "headers.x-accel-buffering",
        Severity.SHOULD,
        "A stream answers X-Accel-Buffering: no.",
        "sse_framing",
        "Without it nginx buffers the stream and the client sees events late, in bursts; "
        "langgraph dev sends it.",
    ),
    Rule(
        "headers.location",
        Severity.MUST,
        "A run stream answers Location: <...>/runs/<run id>/stream, naming the stream's run.",
        "runs",
        "langgraph_sdk derives the run URL from Location to check the run and reconnect with "
        "Last-Event-ID when a stream closes without an end.",
    ),
    Rule(
        "headers.content-location",
        Severity.MUST,
        "A run stream answers Content-Location: <...>/runs/<run id>, naming the stream's run.",
        "runs",
        "useStream (JS SDK) reads the run and thread ids from Content-Location.",
    ),
    # --- lifecycle ---------------------------------------------------------------------------
    Rule(
        "stream.metadata-first",
        Severity.MUST,
        'The first event of a new run\'s stream is metadata {"run_id": <run id>, ...}.',
        "runs",
        "Clients learn the run id from it; langgraph dev always sends it first.",
    ),
    Rule(
        "stream.ends",
        Severity.MUST,
        "A stream ends once its run is terminal; a join of a finished run replays what it has "
        "and closes, and no stream goes on with heartbeats alone.",
        "runs",
        "langgraph_sdk and useStream wait for the stream to close; a server that keeps a "
        "finished run's stream open with heartbeats (a bug other implementations shipped on "
        "rejoin after a restart) hangs the client for ever.",
    ),
    Rule(
        "stream.metadata-attempt",
        Severity.SHOULD,
        "The metadata event carries attempt, a positive integer.",
        "runs",
        'langgraph dev sends {"run_id": ..., "attempt": 1}.',
    ),
    Rule(
        "stream.nothing-after-error",
        Severity.MUST,
        "No event follows an error event (an end event aside).",
        "errors",
        "An error event ends the run; clients stop reading at it and langgraph dev closes the "
        "stream right after.",
    ),
    Rule(
        "stream.error-payload",
        Severity.MUST,
        'An error event\'s data is {"error": <string>, "message": <string>}.',
        "errors",
        "The SDKs raise from these two fields; langgraph dev sends the exception class name "
        "and its message.",
    ),
    # --- modes -------------------------------------------------------------------------------
    Rule(
        "modes.requested-only",
        Severity.MUST,
        "A stream carries only events of the stream modes the run requested (default: values).",
        "runs",
        "Clients dispatch on the event name: an unrequested mode is noise at best, and "
        "messages events under another mode's request break message assembly.",
    ),
    Rule(
        "modes.namespaced-only-with-subgraphs",
        Severity.MUST,
        "Event names carry a |namespace suffix only when the run asked for stream_subgraphs.",
        "subgraphs",
        "Without stream_subgraphs, langgraph dev emits only the root graph's events.",
    ),
    # --- messages ----------------------------------------------------------------------------
    Rule(
        "messages.metadata-before-partial",
        Severity.MUST,
        "In messages mode, a message's messages/metadata event precedes its "
        "messages/partial and messages/complete events.",
        "stream_messages",
        "The SDK's message assembly looks the metadata up by message id when a partial arrives.",
    ),
    Rule(
        "messages.tuple-shape",
        Severity.MUST,
        "In messages-tuple mode, a messages event's data is [message chunk, metadata].",
        "stream_messages_tuple",
        "useStream and langgraph_sdk unpack the pair.",
    ),
    Rule(
        "messages.tuple-id",
        Severity.MUST,
        "In messages-tuple mode, every message chunk carries a non-empty string id.",
        "stream_messages_tuple",
        "useStream matches chunks to messages by id and drops chunks without one.",
    ),
    # --- resumable ---------------------------------------------------------------------------
    Rule(
        "resumable.event-ids",
        Severity.MUST,
        "Every event of a resumable run's stream has an id:, and ids never go backwards.",
        "resumable_streams",
        "Clients reconnect with Last-Event-ID: the last id they saw; without ids, or with ids "
        "out of order, the replay repeats or loses events.",
    ),
    Rule(
        "resumable.event-ids-increasing",
        Severity.SHOULD,
        "The ids of a resumable stream are strictly increasing (no id repeats).",
        "resumable_streams",
        "A repeated id makes a Last-Event-ID replay ambiguous. langgraph-api 0.16.7 itself "
        "repeats an id when two events fall in one millisecond, hence a warning.",
    ),
    Rule(
        "resumable.replay-after-last-event-id",
        Severity.MUST,
        "A stream rejoined with Last-Event-ID: <id> replays only events whose id comes after it.",
        "resumable_streams",
        "langgraph dev replays strictly after the given id (-1: everything).",
    ),
    # --- runs --------------------------------------------------------------------------------
    Rule(
        "runs.terminal-on-close",
        Severity.MUST,
        "When the server closes a run's stream, the run is already finished "
        "(success, error, interrupted or timeout) when fetched right after.",
        "runs",
        "langgraph_sdk, on a stream that closes without end, GETs the run and reconnects "
        "while it is pending or running: a run still running loops the client.",
    ),
    Rule(
        "runs.status-after-error",
        Severity.MUST,
        "A run whose stream ended with an error event does not read success.",
        "runs",
        "Implementations have shipped run status set to success in a finally block, hiding "
        "the failure from every client that checks the run.",
    ),
)

RULES: dict[str, Rule] = {rule.id: rule for rule in _RULE_LIST}
"""Every rule by id, in catalogue order."""

ENGINE_ERROR_RULE = "suite.check-error"
"""Cited when a check function itself failed on a stream: a suite bug, reported as a MUST
finding so it is never silent (it is not in ``RULES``: it judges the suite, not the target)."""


def rule(rule_id: str) -> Rule:
    """The rule with this id; a clear KeyError naming the known ids otherwise."""
    try:
        return RULES[rule_id]
    except KeyError:
        raise KeyError(f"unknown rule {rule_id!r}; known: {', '.join(RULES)}") from None


def _validate() -> None:
    # Catch a typo in the catalogue at import, not in a report.
    for entry in _RULE_LIST:
        if entry.capability not in CAPABILITIES:
            raise ValueError(f"rule {entry.id}: unknown capability {entry.capability!r}")
    if len(RULES) != len(_RULE_LIST):
        raise ValueError("duplicate rule ids in the catalogue")


_validate()
