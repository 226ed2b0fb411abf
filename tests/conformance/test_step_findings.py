"""The findings a scenario's own steps settle: steps never sent, statuses a step accepts."""

from __future__ import annotations

from conformance import step_findings
from conformance.findings import Finding, Severity
from conformance.scenarios import CATALOGUE
from conformance.scenarios.model import Request, Scenario
from conformance.transcript import Chunk, Exchange, RecordedRequest, RecordedResponse, Transcript


def _finding(rule: str, step: str, actual: object = None) -> Finding:
    return Finding(rule=rule, severity=Severity.MUST, message=rule, step=step, actual=actual)


def _scenario() -> Scenario:
    return Scenario(
        name="ids",
        description="a malformed id",
        capability="errors",
        model_dependent=False,
        steps=(
            Request(name="get", method="GET", path="/threads/x", expect_status=422),
            Request(
                name="get_opaque",
                method="GET",
                path="/threads/y",
                expect_status=422,
                also_accept=(404,),
            ),
        ),
    )


INCOMPLETE = Finding(
    rule="scenario.incomplete", severity=Severity.MUST, message="could not go on", step="get"
)


def test_missing_steps_of_a_scenario_that_ran_to_its_end_stay_findings() -> None:
    findings = [_finding(step_findings.MISSING_STEP_RULE, "get_opaque")]
    assert step_findings.settle(_scenario(), [], findings) == findings


def test_steps_never_sent_are_named_in_the_incomplete_finding() -> None:
    other = _finding("replay.shape", "get")
    settled = step_findings.settle(
        _scenario(),
        [INCOMPLETE],
        [other, _finding(step_findings.MISSING_STEP_RULE, "get_opaque")],
    )
    assert [finding.rule for finding in settled] == ["scenario.incomplete", "replay.shape"]
    assert settled[0].message == "could not go on (steps not run: get_opaque)"


def test_a_status_the_step_accepts_is_no_finding_and_any_other_is() -> None:
    findings = [
        _finding(step_findings.STATUS_RULE, "get_opaque", actual=404),
        _finding(step_findings.STATUS_RULE, "get_opaque", actual=200),
        _finding(step_findings.STATUS_RULE, "get", actual=404),
    ]
    settled = step_findings.settle(_scenario(), [], findings)
    assert [(finding.step, finding.actual) for finding in settled] == [
        ("get_opaque", 200),
        ("get", 404),
    ]


def test_only_ids_the_target_never_issued_accept_a_404_in_the_catalogue() -> None:
    accepting = {
        (scenario.name, step.name): step.also_accept
        for scenario in CATALOGUE.values()
        for step in scenario.steps
        if getattr(step, "also_accept", ())
    }
    assert accepting == {
        ("error_non_uuid_path", "get_thread"): (404,),
        ("error_non_uuid_path", "get_assistant"): (404,),
        ("error_non_uuid_path", "stream"): (404,),
        ("error_unknown_graph", "stream"): (404,),
    }


def _fixture(*answers: tuple[str, int, bytes]) -> Transcript:
    return Transcript(
        scenario="ids",
        exchanges=[
            Exchange(
                step=step,
                request=RecordedRequest(method="POST", path="/x"),
                response=RecordedResponse(
                    status=status, headers=[], chunks=[Chunk(at_ms=1.0, data=body)] if body else []
                ),
            )
            for step, status, body in answers
        ],
    )


def _status(step: str, expected: int, actual: int) -> Finding:
    return Finding(
        rule=step_findings.STATUS_RULE,
        severity=Severity.MUST,
        message=f"status {actual} where langgraph dev answers {expected}",
        step=step,
        expected=expected,
        actual=actual,
    )


def test_another_success_for_a_bodiless_success_is_a_should() -> None:
    fixture = _fixture(("delete", 204, b""), ("cancel", 202, b""), ("get", 200, b"{}"))
    settled = step_findings.settle(
        _scenario(),
        [],
        [_status("delete", 204, 200), _status("cancel", 202, 200), _status("get", 200, 201)],
        fixture,
    )
    assert [(f.step, f.severity) for f in settled] == [
        ("delete", Severity.SHOULD),
        ("cancel", Severity.SHOULD),
        ("get", Severity.MUST),  # langgraph dev's answer had a body the client reads
    ]
    assert "has no body" in settled[0].message


def test_an_error_for_a_bodiless_success_stays_a_must() -> None:
    fixture = _fixture(("delete", 204, b""))
    settled = step_findings.settle(_scenario(), [], [_status("delete", 204, 404)], fixture)
    assert [f.severity for f in settled] == [Severity.MUST]
