"""The cors rules on hand-built exchanges: what a browser accepts passes, whatever words the
server chose; what a browser refuses is one finding of the rule that says why."""

from __future__ import annotations

import pytest

from conformance.rules.checks.cors import CrossOriginExchange, check
from conformance.rules.engine import check_cross_origin
from conformance.transcript import Exchange, RecordedRequest, RecordedResponse

ORIGIN = "http://127.0.0.1:5173"
ASKED = [
    ("origin", ORIGIN),
    ("access-control-request-method", "POST"),
    ("access-control-request-headers", "content-type,x-api-key"),
]
LANGGRAPH_DEV_PREFLIGHT = [
    ("access-control-allow-origin", "*"),
    ("access-control-allow-methods", "DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT, QUERY"),
    ("access-control-allow-headers", "content-type,x-api-key"),
]
STREAM_HEADERS = [
    ("content-type", "text/event-stream; charset=utf-8"),
    ("content-location", "/threads/t/runs/r"),
]


def _preflight(status: int, headers: list[tuple[str, str]]) -> CrossOriginExchange:
    return CrossOriginExchange("OPTIONS", ASKED, status, headers)


def _answer(headers: list[tuple[str, str]], origin: bool = True) -> CrossOriginExchange:
    return CrossOriginExchange("POST", [("origin", ORIGIN)] if origin else [], 200, headers)


def _rules(exchange: CrossOriginExchange) -> list[str]:
    return [violation.rule for violation in check(exchange)]


@pytest.mark.parametrize(
    "headers",
    [
        LANGGRAPH_DEV_PREFLIGHT,
        # the origin echoed, only what was asked, another order and case
        [
            ("access-control-allow-origin", ORIGIN),
            ("access-control-allow-headers", "X-Api-Key, Content-Type"),
        ],
        [("access-control-allow-origin", "*"), ("access-control-allow-headers", "*")],
    ],
)
def test_a_preflight_a_browser_accepts_passes(headers: list[tuple[str, str]]) -> None:
    assert _rules(_preflight(200, headers)) == []
    assert _rules(_preflight(204, headers)) == [], "any 2xx is an ok status"


@pytest.mark.parametrize(
    ("status", "headers", "says"),
    [
        (405, [], "answered 405"),
        (200, [], "no Access-Control-Allow-Origin"),
        (200, [("access-control-allow-origin", "http://elsewhere")], "'http://elsewhere'"),
        (
            200,
            [
                ("access-control-allow-origin", "*"),
                ("access-control-allow-headers", "content-type"),
            ],
            "does not allow x-api-key",
        ),
    ],
)
def test_a_preflight_a_browser_refuses_is_one_finding(
    status: int, headers: list[tuple[str, str]], says: str
) -> None:
    violations = list(check(_preflight(status, headers)))
    assert [violation.rule for violation in violations] == ["cors.preflight"]
    assert says in violations[0].message


def test_a_method_beyond_the_safelisted_ones_must_be_allowed() -> None:
    asked = [("origin", ORIGIN), ("access-control-request-method", "PATCH")]
    allowed = [("access-control-allow-origin", "*"), ("access-control-allow-methods", "GET, POST")]
    exchange = CrossOriginExchange("OPTIONS", asked, 200, allowed)
    assert _rules(exchange) == ["cors.preflight"]
    post = CrossOriginExchange(
        "OPTIONS", [("origin", ORIGIN), ("access-control-request-method", "POST")], 200, allowed[:1]
    )
    assert _rules(post) == [], "POST is safelisted: no Allow-Methods needed"


def test_answers_allow_the_origin_and_expose_what_the_sdk_reads() -> None:
    exposed = ("access-control-expose-headers", "x-pagination-total, content-location")
    assert _rules(_answer([*STREAM_HEADERS, ("access-control-allow-origin", "*"), exposed])) == []
    assert (
        _rules(_answer([*STREAM_HEADERS, ("access-control-allow-origin", ORIGIN), exposed])) == []
    )
    assert _rules(_answer([("access-control-allow-origin", "*")])) == [], "nothing to expose"
    assert _rules(_answer([*STREAM_HEADERS, exposed])) == ["cors.allow-origin"]
    assert _rules(_answer([*STREAM_HEADERS, ("access-control-allow-origin", "*")])) == [
        "cors.expose-headers"
    ]
    wildcard = ("access-control-expose-headers", "*")
    assert _rules(_answer([*STREAM_HEADERS, ("access-control-allow-origin", "*"), wildcard])) == []


def test_a_request_without_an_origin_is_not_judged() -> None:
    assert _rules(_answer(STREAM_HEADERS, origin=False)) == []
    assert _rules(CrossOriginExchange("OPTIONS", [], 405, [])) == []


def test_the_engine_names_scenario_step_and_severity() -> None:
    exchange = Exchange(
        step="stream",
        request=RecordedRequest(method="POST", path="/runs/stream", headers=[("origin", ORIGIN)]),
        response=RecordedResponse(status=200, headers=STREAM_HEADERS, chunks=[]),
    )
    findings = check_cross_origin(exchange, scenario="cors_browser_page")
    assert [(f.rule, f.severity.value, f.scenario, f.step) for f in findings] == [
        ("cors.allow-origin", "MUST", "cors_browser_page", "stream")
    ]
