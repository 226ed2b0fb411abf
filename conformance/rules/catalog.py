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
from enum import StrEnum

from conformance.capabilities import CAPABILITIES
from conformance.findings import Severity

OBSERVED_ON = "langgraph-api 0.16.7"
KEEPALIVE_LIMIT_MS = 15_000
"""Three of langgraph dev's 5 s heartbeat periods: slack for a busy machine."""


class Source(StrEnum):
    """Where a rule comes from: what makes it a requirement rather than a habit."""

    SPEC = "spec"
    """The WHATWG HTML event-stream rules or HTTP/1.1 itself."""
    SDK = "sdk"
    """Code of the official clients (langgraph_sdk, the JS SDK and its useStream) reads it."""
    RECORDING = "recording"
    """What langgraph dev was recorded doing (fixtures/), and bugs other servers shipped."""


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    severity: Severity
    text: str
    """The requirement, one sentence."""
    capability: str
    why: str
    """What breaks without it, or where it comes from (a spec quote or an observation)."""
    source: Source
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
        Source.SPEC,
    ),
    Rule(
        "framing.terminated",
        Severity.MUST,
        "When the server ends a stream, its last event is terminated by a blank line.",
        "sse_framing",
        'WHATWG HTML: "If the file ends in the middle of an event, before the final empty line, '
        'the incomplete event is not dispatched." The client loses that event.',
        Source.SPEC,
    ),
    Rule(
        "framing.event-without-data",
        Severity.SHOULD,
        "A block with an event: field also has a data: field.",
        "sse_framing",
        "A spec-following client dispatches nothing for a block without data, so the event "
        "name alone is silently lost (langgraph dev never sends one).",
        Source.SPEC,
    ),
    Rule(
        "framing.id-without-nul",
        Severity.SHOULD,
        "An id: value contains no NUL character.",
        "sse_framing",
        "WHATWG HTML: an id containing U+0000 is ignored, so Last-Event-ID would not advance.",
        Source.SPEC,
    ),
    Rule(
        "framing.retry-digits",
        Severity.MAY,
        "A retry: value is ASCII digits.",
        "sse_framing",
        "WHATWG HTML: any other retry value is ignored; harmless, but it does not do what the "
        "server meant.",
        Source.SPEC,
    ),
    Rule(
        "framing.keepalive",
        Severity.SHOULD,
        f"A stream is never silent for more than {KEEPALIVE_LIMIT_MS // 1000} s: it sends a "
        "comment (heartbeat) while it has no event to send.",
        "sse_framing",
        "Proxies and load balancers close idle connections; langgraph dev sends ': heartbeat' "
        "every 5 s (e.g. while an enqueued run waits for the one before it).",
        Source.RECORDING,
    ),
    Rule(
        "stream.data-json",
        Severity.MUST,
        "The data of every event is one JSON document.",
        "sse_framing",
        "Both SDKs JSON-decode every data field; langgraph dev sends compact JSON on one line.",
        Source.SDK,
    ),
    Rule(
        "stream.end-event",
        Severity.SHOULD,
        "A stream SHOULD NOT send an end event; it closes after its last event.",
        "sse_framing",
        "langgraph dev sends no end event. Some servers do and the SDKs accept it, so this is "
        "only a warning.",
        Source.RECORDING,
    ),
    # --- headers -----------------------------------------------------------------------------
    Rule(
        "headers.content-type",
        Severity.MUST,
        "A stream answers Content-Type text/event-stream (a charset, if given, is utf-8).",
        "sse_framing",
        "langgraph_sdk refuses a stream whose content type is not text/event-stream; "
        "langgraph dev sends text/event-stream; charset=utf-8.",
        Source.SDK,
    ),
    Rule(
        "headers.cache-control",
        Severity.SHOULD,
        "A stream answers Cache-Control: no-store.",
        "sse_framing",
        "Keeps caches and proxies from storing or coalescing a live stream; langgraph dev "
        "sends no-store.",
        Source.RECORDING,
    ),
    Rule(
        "headers.x-accel-buffering",
        Severity.SHOULD,
        "A stream answers X-Accel-Buffering: no.",
        "sse_framing",
        "Without it nginx buffers the stream and the client sees events late, in bursts; "
        "langgraph dev sends it.",
        Source.RECORDING,
    ),
    Rule(
        "headers.location",
        Severity.MUST,
        "A run stream answers Location: <...>/runs/<run id>/stream, naming the stream's run.",
        "runs",
        "langgraph_sdk derives the run URL from Location to check the run and reconnect with "
        "Last-Event-ID when a stream closes without an end.",
        Source.SDK,
    ),
    Rule(
        "headers.content-location",
        Severity.MUST,
        "A run stream answers Content-Location: <...>/runs/<run id>, naming the stream's run.",
        "runs",
        "useStream (JS SDK) reads the run and thread ids from Content-Location.",
        Source.SDK,
    ),
    # --- lifecycle ---------------------------------------------------------------------------
    Rule(
        "stream.metadata-first",
        Severity.MUST,
        'The first event of a new run\'s stream is metadata {"run_id": <run id>, ...}.',
        "runs",
        "Clients learn the run id from it; langgraph dev always sends it first.",
        Source.SDK,
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
        Source.SDK,
    ),
    Rule(
        "stream.intact",
        Severity.MUST,
        "A stream ends cleanly: the connection is not aborted and a chunked body is not cut short.",
        "sse_framing",
        "HTTP/1.1 (RFC 9112): a chunked body ends with its last chunk; a client that sees the "
        "connection drop before it has lost the rest of the run's events, and langgraph_sdk "
        "raises rather than treat the stream as complete.",
        Source.SPEC,
    ),
    Rule(
        "stream.metadata-attempt",
        Severity.SHOULD,
        "The metadata event carries attempt, a positive integer.",
        "runs",
        'langgraph dev sends {"run_id": ..., "attempt": 1}.',
        Source.RECORDING,
    ),
    Rule(
        "stream.nothing-after-error",
        Severity.MUST,
        "No event follows an error event (an end event aside).",
        "errors",
        "An error event ends the run; clients stop reading at it and langgraph dev closes the "
        "stream right after.",
        Source.RECORDING,
    ),
    Rule(
        "stream.error-payload",
        Severity.MUST,
        'An error event\'s data is {"error": <string>, "message": <string>}.',
        "errors",
        "The SDKs raise from these two fields; langgraph dev sends the exception class name "
        "and its message.",
        Source.SDK,
    ),
    # --- modes -------------------------------------------------------------------------------
    Rule(
        "modes.requested-only",
        Severity.MUST,
        "A stream carries only events of the stream modes the run requested (default: values).",
        "runs",
        "Clients dispatch on the event name: an unrequested mode is noise at best, and "
        "messages events under another mode's request break message assembly.",
        Source.SDK,
    ),
    Rule(
        "modes.namespaced-only-with-subgraphs",
        Severity.MUST,
        "Event names carry a |namespace suffix only when the run asked for stream_subgraphs.",
        "subgraphs",
        "Without stream_subgraphs, langgraph dev emits only the root graph's events.",
        Source.RECORDING,
    ),
    # --- messages ----------------------------------------------------------------------------
    Rule(
        "messages.metadata-before-partial",
        Severity.MUST,
        "In messages mode, a message's messages/metadata event precedes its "
        "messages/partial and messages/complete events.",
        "stream_messages",
        "The SDK's message assembly looks the metadata up by message id when a partial arrives.",
        Source.SDK,
    ),
    Rule(
        "messages.tuple-shape",
        Severity.MUST,
        "In messages-tuple mode, a messages event's data is [message chunk, metadata].",
        "stream_messages_tuple",
        "useStream and langgraph_sdk unpack the pair.",
        Source.SDK,
    ),
    Rule(
        "messages.tuple-id",
        Severity.MUST,
        "In messages-tuple mode, every message chunk carries a non-empty string id.",
        "stream_messages_tuple",
        "useStream matches chunks to messages by id and drops chunks without one.",
        Source.SDK,
    ),
    Rule(
        "messages.token-events",
        Severity.MUST,
        "A model's answer of several words arrives as several messages events (one per "
        "token or a few), not as one event holding the whole message.",
        "stream_messages",
        "Token streaming is what the messages modes are for: useStream renders each token as "
        "it arrives; langgraph dev sends one event per model chunk.",
        Source.RECORDING,
    ),
    Rule(
        "stream.incremental",
        Severity.MUST,
        "The token events of one answer are delivered as the model produces them, spread "
        "over the time it takes, not held back and sent together.",
        "stream_messages",
        "A server that buffers the stream until the run ends streams nothing: the user waits "
        "for the whole answer. Judged where a model answered: with any model (--llm live "
        "too) a stream must not arrive whole at once; with the fake LLM's delay:MS each "
        "answer's tokens must also come spread at about that pace.",
        Source.RECORDING,
    ),
    # --- resumable ---------------------------------------------------------------------------
    Rule(
        "resumable.event-ids",
        Severity.MUST,
        "Every event of a resumable run's stream has an id:, and ids never go backwards.",
        "resumable_streams",
        "Clients reconnect with Last-Event-ID: the last id they saw; without ids, or with ids "
        "out of order, the replay repeats or loses events.",
        Source.SDK,
    ),
    Rule(
        "resumable.event-ids-increasing",
        Severity.SHOULD,
        "The ids of a resumable stream are strictly increasing (no id repeats).",
        "resumable_streams",
        "A repeated id makes a Last-Event-ID replay ambiguous. langgraph-api 0.16.7 itself "
        "repeats an id when two events fall in one millisecond, hence a warning.",
        Source.RECORDING,
    ),
    Rule(
        "resumable.replay-after-last-event-id",
        Severity.MUST,
        "A stream rejoined with Last-Event-ID: <id> replays only events whose id comes after it.",
        "resumable_streams",
        "langgraph dev replays strictly after the given id (-1: everything).",
        Source.RECORDING,
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
        Source.SDK,
    ),
    Rule(
        "runs.status-after-error",
        Severity.MUST,
        "A run whose stream ended with an error event does not read success.",
        "runs",
        "Implementations have shipped run status set to success in a finally block, hiding "
        "the failure from every client that checks the run.",
        Source.RECORDING,
    ),
    # --- cross-origin (browser clients) ------------------------------------------------------
    Rule(
        "cors.preflight",
        Severity.MUST,
        "A CORS preflight (OPTIONS with Origin and Access-Control-Request-Method) gets a 2xx "
        "answer that allows the origin, the method and every requested header.",
        "cors",
        "Fetch standard, CORS-preflight fetch: without it the browser never sends a JSON POST "
        "from another origin, so useStream, Agent Chat UI and Open Agent Platform on their own "
        "origin cannot create a thread or a run; langgraph dev answers 200 with "
        "Access-Control-Allow-Origin *, the methods and the headers asked for.",
        Source.SPEC,
    ),
    Rule(
        "cors.allow-origin",
        Severity.MUST,
        "A response to a request with an Origin header carries Access-Control-Allow-Origin: * "
        "or that origin.",
        "cors",
        "Fetch standard, CORS check: without it the browser hides the whole response (a JSON "
        "answer, a stream) from the page, and the SDK fails with a network error; langgraph "
        "dev sends Access-Control-Allow-Origin * on every answer.",
        Source.SPEC,
    ),
    Rule(
        "cors.expose-headers",
        Severity.MUST,
        "A cross-origin response that carries Content-Location or X-Pagination-Next lists it in "
        "Access-Control-Expose-Headers (or *).",
        "cors",
        "Fetch standard: a page reads only the safelisted response headers and those exposed; "
        "the JS SDK takes the run id of a stream from Content-Location (useStream's "
        "reconnectOnMount keeps it) and the next page from X-Pagination-Next; langgraph dev "
        "exposes x-pagination-total, x-pagination-next and content-location.",
        Source.SDK,
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
