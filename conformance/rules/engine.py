"""The rule engine: streams in, findings out.

Two invariants, kept for any input whatsoever:

- it never raises: malformed bytes, bodies or headers are findings; a check that fails on an
  input the suite did not foresee becomes a ``suite.check-error`` finding naming the check,
  never an exception and never silence;
- every finding cites the rule that governs it (severity taken from the catalogue), the
  event index and, where it applies, a JSON pointer into the event's data.

``check_stream`` judges one stream given its request, its response and what was learnt after
it (the run's status once it closed); ``check_cross_origin`` judges any exchange a browser
page on another origin made (its request carries ``Origin``). ``check_transcript`` finds the
streams of a recorded transcript, the run-creating request behind each join, the GET of each
run made after its stream closed (``timeline``: a background stream closes at its ``Await``,
not at its place in the transcript), and judges them all, and every exchange's CORS. Pure:
no I/O.
"""

from __future__ import annotations

import json
import re
import traceback
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from conformance.findings import Finding, Severity
from conformance.rules.catalog import ENGINE_ERROR_RULE, RULES
from conformance.rules.checks import CHECKS, Check, cors
from conformance.rules.context import StreamContext, StreamInput, Violation
from conformance.rules.timeline import closed_before
from conformance.sse import parse_stream
from conformance.transcript import Exchange, Transcript

__all__ = [
    "StreamInput",
    "check_cross_origin",
    "check_stream",
    "check_transcript",
    "is_stream",
    "stream_input",
]

_RUN_GET_PATH = re.compile(r"^(?:/threads/[^/]+)?/runs/(?P<run>[^/]+)/?$")
_RUN_IN_LOCATION = re.compile(r"/runs/(?P<run>[^/?#]+)")


def _finding(violation: Violation, scenario: str, step: str) -> Finding:
    rule = RULES.get(violation.rule)
    return Finding(
        rule=violation.rule,
        severity=rule.severity if rule is not None else Severity.MUST,
        message=violation.message,
        scenario=scenario,
        step=step,
        event_index=violation.event_index,
        pointer=violation.pointer,
        expected=violation.expected,
        actual=violation.actual,
    )


def _crash(name: str, error: BaseException, scenario: str, step: str) -> Finding:
    detail = "".join(traceback.format_exception_only(error)).strip()
    return Finding(
        rule=ENGINE_ERROR_RULE,
        severity=Severity.MUST,
        message=f"the suite's check {name} failed on this stream: {detail}",
        scenario=scenario,
        step=step,
    )


def _run_check(check: Check, context: StreamContext, scenario: str, step: str) -> list[Finding]:
    try:
        return [_finding(violation, scenario, step) for violation in check(context)]
    except Exception as error:  # the engine's promise: never raise, never go silent
        return [_crash(getattr(check, "__qualname__", repr(check)), error, scenario, step)]


def check_stream(stream: StreamInput, *, scenario: str = "", step: str = "") -> list[Finding]:
    """Every rule finding on one stream. Only a stream that started (status 2xx) is judged:
    an error status before a stream is the replay comparison's business."""
    if not 200 <= stream.status < 300:
        return []
    try:
        context = StreamContext(stream)
    except Exception as error:  # parse_stream itself never raises; this is belt and braces
        return [_crash("StreamContext", error, scenario, step)]
    findings: list[Finding] = []
    for check in CHECKS:
        findings += _run_check(check, context, scenario, step)
    return findings


def check_cross_origin(exchange: Exchange, *, scenario: str = "") -> list[Finding]:
    """The CORS findings of one exchange, stream or not: nothing when its request carried no
    ``Origin`` (a client that is not a browser page on another origin)."""
    view = cors.CrossOriginExchange(
        method=exchange.request.method,
        request_headers=list(exchange.request.headers),
        status=exchange.response.status,
        response_headers=list(exchange.response.headers),
    )
    try:
        return [_finding(violation, scenario, exchange.step) for violation in cors.check(view)]
    except Exception as error:  # the engine's promise: never raise, never go silent
        return [_crash("cors.check", error, scenario, exchange.step)]


# --- transcripts -------------------------------------------------------------------------------


def is_stream(exchange: Exchange) -> bool:
    """A streaming exchange: answered text/event-stream, or asked of a ``.../stream`` path
    (a CORS preflight of such a path asks only whether the stream may be requested)."""
    if exchange.request.method.upper() == "OPTIONS":
        return False
    content_type = (exchange.response.header("content-type") or "").lower()
    path = urlsplit(exchange.request.path).path
    return content_type.startswith("text/event-stream") or path.endswith("/stream")


def _json_body(exchange: Exchange) -> Any:
    try:
        return json.loads(exchange.response.body)
    except (ValueError, UnicodeDecodeError):
        return None


def _created_run_id(exchange: Exchange) -> str | None:
    """The run an exchange created, if it is a POST that created one."""
    if exchange.request.method.upper() != "POST" or not 200 <= exchange.response.status < 300:
        return None
    path = urlsplit(exchange.request.path).path
    if not re.search(r"/runs(?:/stream|/wait)?/?$", path):
        return None
    match = _RUN_IN_LOCATION.search(exchange.response.header("content-location") or "")
    if match:
        return match.group("run")
    if is_stream(exchange):
        for event in parse_stream(exchange.response.body).events[:1]:
            try:
                payload = json.loads(event.data)
            except ValueError:
                return None
            if event.event == "metadata" and isinstance(payload, dict):
                run_id = payload.get("run_id")
                return run_id if isinstance(run_id, str) else None
        return None
    payload = _json_body(exchange)
    run_id = payload.get("run_id") if isinstance(payload, dict) else None
    return run_id if isinstance(run_id, str) else None


def _status_fetched_after(exchanges: list[Exchange], start: int, run_id: str) -> str | None:
    """The run's status from the first GET of that run from exchange ``start`` on."""
    for exchange in exchanges[start:]:
        if exchange.request.method.upper() != "GET" or exchange.response.status != 200:
            continue
        match = _RUN_GET_PATH.match(urlsplit(exchange.request.path).path)
        if match is None or match.group("run") != run_id:
            continue
        payload = _json_body(exchange)
        status = payload.get("status") if isinstance(payload, dict) else None
        return status if isinstance(status, str) else None
    return None


def stream_input(
    exchange: Exchange,
    *,
    run_request_body: Any = None,
    run_status_after: str | None = None,
    live_model: bool = False,
) -> StreamInput:
    """The engine's view of a recorded streaming exchange."""
    return StreamInput(
        method=exchange.request.method,
        path=exchange.request.path,
        status=exchange.response.status,
        response_headers=list(exchange.response.headers),
        chunks=[chunk.data for chunk in exchange.response.chunks],
        request_body=exchange.request.body,
        request_headers=list(exchange.request.headers),
        closed_by=exchange.response.closed_by,
        run_request_body=run_request_body,
        run_status_after=run_status_after,
        chunk_times_ms=[chunk.at_ms for chunk in exchange.response.chunks],
        live_model=live_model,
    )


def _judge_exchange(
    exchanges: list[Exchange],
    position: int,
    closed_from: int,
    creators: Mapping[str, Any],
    scenario: str,
    live_model: bool,
) -> list[Finding]:
    exchange = exchanges[position]
    bare = stream_input(exchange)
    context = StreamContext(bare)
    run_id = context.run_id
    return check_stream(
        stream_input(
            exchange,
            run_request_body=creators.get(run_id) if run_id else None,
            run_status_after=_status_fetched_after(exchanges, closed_from, run_id)
            if run_id
            else None,
            live_model=live_model,
        ),
        scenario=scenario,
        step=exchange.step,
    )


def check_transcript(transcript: Transcript, *, live_model: bool = False) -> list[Finding]:
    """Rule findings on every stream of a transcript, in exchange order. Never raises.
    ``live_model``: the runs used a real model (``--llm live``), whose tokens take real time,
    so their delivery is judged by time even without the fake LLM's ``delay:MS``."""
    exchanges = list(transcript.exchanges)
    creators: dict[str, Any] = {}
    findings: list[Finding] = []
    try:
        closings = closed_before(transcript)
    except Exception:  # a catalogue it cannot read: judge as if every step ran in turn
        closings = [position + 1 for position in range(len(exchanges))]
    for position, exchange in enumerate(exchanges):
        try:
            findings += check_cross_origin(exchange, scenario=transcript.scenario)
            created = _created_run_id(exchange)
            if created is not None:
                creators.setdefault(created, exchange.request.body)
            if is_stream(exchange):
                findings += _judge_exchange(
                    exchanges,
                    position,
                    closings[position],
                    creators,
                    transcript.scenario,
                    live_model,
                )
        except Exception as error:  # never raise on a transcript, whatever it holds
            findings.append(_crash("check_transcript", error, transcript.scenario, exchange.step))
    return findings
