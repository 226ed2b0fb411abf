"""``check_transcript``: the rules over whole recorded sessions, including the run fetched after
a stream and the request that created a joined run; and recorded sessions served by respx to
an httpx client, so rules are checked on what a client reads without any server."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import httpx
import pytest
import respx
from rule_streams import (
    JOIN_PATH,
    RUN_ID,
    STREAM_PATH,
    THREAD_ID,
    sse,
    stream_headers,
    values_events,
)

from conformance.findings import Severity
from conformance.rules.engine import check_transcript
from conformance.rules.timeline import closed_before
from conformance.transcript import (
    Chunk,
    Exchange,
    RecordedRequest,
    RecordedResponse,
    Transcript,
    load,
)

RECORDINGS = Path(__file__).parent / "recordings"
RUN_PATH = f"/threads/{THREAD_ID}/runs/{RUN_ID}"


def _json_exchange(
    step: str, method: str, path: str, payload: object, body: object = None
) -> Exchange:
    return Exchange(
        step=step,
        request=RecordedRequest(method=method, path=path, body=body),
        response=RecordedResponse(
            status=200,
            headers=[("content-type", "application/json")],
            chunks=[Chunk(at_ms=1.0, data=json.dumps(payload).encode())],
        ),
    )


def _stream_exchange(
    step: str = "stream",
    body: bytes | None = None,
    *,
    method: str = "POST",
    path: str = STREAM_PATH,
    request_body: object = None,
    request_headers: list[tuple[str, str]] | None = None,
    closed_by: str = "server",
) -> Exchange:
    return Exchange(
        step=step,
        request=RecordedRequest(
            method=method,
            path=path,
            headers=request_headers or [("accept", "text/event-stream")],
            body={"assistant_id": "agent"}
            if request_body is None and method == "POST"
            else request_body,
        ),
        response=RecordedResponse(
            status=200,
            headers=stream_headers(),
            chunks=[Chunk(at_ms=1.0, data=sse(*values_events()) if body is None else body)],
            closed_by=closed_by,
        ),
    )


def _rules(*exchanges: Exchange) -> list[tuple[str, str, int | None]]:
    findings = check_transcript(Transcript(scenario="s", exchanges=list(exchanges)))
    assert all(finding.scenario == "s" for finding in findings)
    return [(finding.rule, finding.step, finding.event_index) for finding in findings]


# --- ground truth ---------------------------------------------------------------------------------


FIXTURES = Path(__file__).resolve().parents[3] / "fixtures"


@pytest.mark.parametrize(
    "path",
    sorted((RECORDINGS / "first").glob("*.json"))
    + sorted((RECORDINGS / "second").glob("*.json"))
    + sorted(FIXTURES.glob("*.json")),
    ids=lambda p: f"{p.parent.name}/{p.stem}",
)
@pytest.mark.parametrize("live_model", [False, True], ids=["fake", "live"])
def test_langgraph_dev_recordings_break_no_must_rule(path: Path, live_model: bool) -> None:
    findings = check_transcript(load(path), live_model=live_model)
    assert [f for f in findings if f.severity is Severity.MUST] == []
    # langgraph dev repeats an event id when two events share a millisecond: a warning only.
    assert {f.rule for f in findings} <= {"resumable.event-ids-increasing"}


# --- the run fetched after the stream ---------------------------------------------------------------


def test_run_still_running_after_its_stream_closed() -> None:
    assert _rules(
        _stream_exchange(),
        _json_exchange("get_run", "GET", RUN_PATH, {"run_id": RUN_ID, "status": "running"}),
    ) == [("runs.terminal-on-close", "stream", None)]


def test_only_the_first_get_of_that_run_after_the_stream_counts() -> None:
    other_run = f"/threads/{THREAD_ID}/runs/1f0b6c3e-9999-7000-8000-00000000ffff"
    assert (
        _rules(
            _json_exchange("before", "GET", RUN_PATH, {"status": "pending"}),
            _stream_exchange(),
            _json_exchange("other", "GET", other_run, {"status": "running"}),
            _json_exchange("get_run", "GET", RUN_PATH, {"status": "success"}),
            _json_exchange("later", "GET", RUN_PATH, {"status": "running"}),
        )
        == []
    )


def test_success_after_an_error_event() -> None:
    body = sse(values_events()[0], ("error", {"error": "OpenAIAPIError", "message": "500"}))
    assert _rules(
        _stream_exchange(body=body),
        _json_exchange("get_run", "GET", RUN_PATH, {"status": "success"}),
    ) == [("runs.status-after-error", "stream", 1)]


def test_client_disconnect_is_not_judged_by_the_run_status() -> None:
    assert (
        _rules(
            _stream_exchange(closed_by="client"),
            _json_exchange("get_run", "GET", RUN_PATH, {"status": "running"}),
        )
        == []
    )


def test_a_background_stream_closes_at_its_await_not_at_its_place() -> None:
    # cancel_interrupt streams in the background, GETs the run while it runs, cancels, awaits
    # the stream, then reads the run: only that last GET follows the stream's close.
    steps = [
        _stream_exchange(),
        _json_exchange("run_running", "GET", RUN_PATH, {"status": "running"}),
        _json_exchange("cancel", "POST", f"{RUN_PATH}/cancel", {}),
        _json_exchange("run_interrupted", "GET", RUN_PATH, {"status": "still running"}),
    ]
    in_catalogue = Transcript(scenario="cancel_interrupt", exchanges=steps)
    assert closed_before(in_catalogue) == [3, 2, 3, 4]
    assert [(f.rule, f.actual) for f in check_transcript(in_catalogue)] == [
        ("runs.terminal-on-close", "still running")
    ]
    # A scenario the catalogue does not know is taken as sequential.
    unknown = Transcript(scenario="not_in_the_catalogue", exchanges=steps)
    assert closed_before(unknown) == [1, 2, 3, 4]
    assert [(f.rule, f.actual) for f in check_transcript(unknown)] == [
        ("runs.terminal-on-close", "running")
    ]


# --- joins ------------------------------------------------------------------------------------------


def test_join_is_judged_by_the_modes_of_the_request_that_created_the_run() -> None:
    create = _json_exchange(
        "create_run",
        "POST",
        f"/threads/{THREAD_ID}/runs",
        {"run_id": RUN_ID, "status": "pending"},
        body={"assistant_id": "agent", "stream_mode": ["updates"], "stream_resumable": True},
    )
    join = _stream_exchange(
        "join",
        sse(("updates", {}, "1-0"), ("values", {}, "2-0"), ("updates", {})),
        method="GET",
        path=JOIN_PATH,
        request_headers=[("last-event-id", "-1")],
    )
    assert _rules(create, join) == [
        ("modes.requested-only", "join", 1),
        ("resumable.event-ids", "join", 2),
    ]


def test_join_after_a_resumable_stream_that_created_the_run() -> None:
    events = [
        (name, data, f"{index + 1}-0") for index, (name, data, *_) in enumerate(values_events())
    ]
    first = _stream_exchange(
        body=sse(*events),
        request_body={"assistant_id": "a", "stream_resumable": True},
        closed_by="client",
    )
    rejoin = _stream_exchange(
        "rejoin",
        sse(*events[1:]),
        method="GET",
        path=JOIN_PATH,
        request_headers=[("last-event-id", "2-0")],
    )
    assert _rules(first, rejoin) == [("resumable.replay-after-last-event-id", "rejoin", 0)]


# --- what is not a stream, and garbage ------------------------------------------------------------


def test_json_exchanges_and_refused_streams_are_not_judged() -> None:
    refused = Exchange(
        step="second_stream",
        request=RecordedRequest(method="POST", path=STREAM_PATH, body={"assistant_id": "a"}),
        response=RecordedResponse(
            status=409,
            headers=[("content-type", "application/json")],
            chunks=[Chunk(at_ms=1.0, data=b'{"detail":"busy"}')],
        ),
    )
    assert _rules(_json_exchange("get", "GET", "/threads", []), refused) == []


def test_a_stream_is_recognised_by_its_content_type_too() -> None:
    exchange = _stream_exchange(body=b"event: values\r\ndata: oops\r\n\r\n")
    on_other_path = dataclasses.replace(
        exchange, request=dataclasses.replace(exchange.request, path="/custom")
    )
    assert _rules(on_other_path) == [("stream.data-json", "stream", 0)]


def test_garbage_transcripts_give_findings_not_exceptions() -> None:
    weird = Exchange(
        step="weird",
        request=RecordedRequest(
            method="POST", path=STREAM_PATH, headers=[], body=["not", "a", "dict"]
        ),
        response=RecordedResponse(
            status=200, headers=[], chunks=[Chunk(at_ms=0.0, data=b"\xff\r\r\n")]
        ),
    )
    nonsense_run = _json_exchange("get_run", "GET", RUN_PATH, ["status"])
    rules = {rule for rule, _, _ in _rules(weird, nonsense_run)}
    assert "suite.check-error" not in rules
    assert {"headers.content-type", "stream.metadata-first", "framing.utf8"} <= rules


# --- respx: recorded transcripts served to an httpx client -------------------------------------------


def _serve(transcript: Transcript, router: respx.MockRouter) -> None:
    """Answer the recorded requests with the recorded responses, chunk by chunk, in order
    (two requests to one path get their own answers, as recorded)."""
    answers: dict[tuple[str, str], list[httpx.Response]] = {}
    for exchange in transcript.exchanges:
        response = exchange.response
        answers.setdefault((exchange.request.method, exchange.request.path), []).append(
            httpx.Response(
                response.status,
                headers=[
                    (k, v)
                    for k, v in response.headers
                    if k not in ("content-length", "transfer-encoding")
                ],
                stream=_Chunks([chunk.data for chunk in response.chunks]),
            )
        )
    for (method, path), responses in answers.items():
        router.route(method=method, path=path).mock(side_effect=responses)


class _Chunks(httpx.AsyncByteStream):
    def __init__(self, chunks: list[bytes]) -> None:
        self._chunks = chunks

    async def __aiter__(self):  # type: ignore[no-untyped-def]
        for chunk in self._chunks:
            yield chunk


async def _replay(transcript: Transcript) -> Transcript:
    """Send every recorded request with httpx, through respx, and record what came back."""
    exchanges = []
    async with httpx.AsyncClient(base_url="http://target.test") as client:
        for exchange in transcript.exchanges:
            request = exchange.request
            async with client.stream(
                request.method,
                request.path,
                headers=request.headers,
                json=request.body if request.body is not None else None,
            ) as response:
                chunks = [Chunk(at_ms=0.0, data=data) async for data in response.aiter_raw()]
            exchanges.append(
                dataclasses.replace(
                    exchange,
                    response=RecordedResponse(
                        status=response.status_code,
                        headers=[(k.lower(), v) for k, v in response.headers.items()],
                        chunks=chunks,
                        closed_by=exchange.response.closed_by,
                    ),
                )
            )
    return Transcript(scenario=transcript.scenario, exchanges=exchanges)


@pytest.mark.parametrize(
    "name", ["llm_failure_stream", "subgraphs_stream", "stream_messages_tool_call"]
)
async def test_recording_served_by_respx_checks_clean(name: str) -> None:
    recorded = load(RECORDINGS / "first" / f"{name}.json")
    with respx.mock(base_url="http://target.test", assert_all_called=False) as router:
        _serve(recorded, router)
        replayed = await _replay(recorded)
    assert [e.response.body for e in replayed.exchanges] == [
        e.response.body for e in recorded.exchanges
    ]
    assert check_transcript(replayed) == []


async def test_broken_recording_served_by_respx_is_caught() -> None:
    recorded = load(RECORDINGS / "first" / "llm_failure_stream.json")
    exchanges = []
    for exchange in recorded.exchanges:
        response = exchange.response
        if exchange.step == "stream":
            # The error event reshaped, and the Location header dropped.
            body = response.body.replace(b'"error":"OpenAIAPIError"', b'"detail":"OpenAIAPIError"')
            response = dataclasses.replace(
                response,
                headers=[(k, v) for k, v in response.headers if k != "location"],
                chunks=[Chunk(at_ms=0.0, data=body)],
            )
        if exchange.step == "get_run":
            run = json.loads(response.body)
            run["status"] = "success"  # "run status set to success in a finally"
            response = dataclasses.replace(
                response, chunks=[Chunk(at_ms=0.0, data=json.dumps(run).encode())]
            )
        exchanges.append(dataclasses.replace(exchange, response=response))
    broken = Transcript(scenario=recorded.scenario, exchanges=exchanges)
    with respx.mock(base_url="http://target.test", assert_all_called=False) as router:
        _serve(broken, router)
        replayed = await _replay(broken)
    findings = check_transcript(replayed)
    error_index = 2  # metadata, values, error
    assert [(f.rule, f.step, f.event_index) for f in findings] == [
        ("headers.location", "stream", None),
        ("stream.error-payload", "stream", error_index),
        ("runs.status-after-error", "stream", error_index),
    ]
