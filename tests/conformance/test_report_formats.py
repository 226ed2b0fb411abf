"""The JSON report (source of truth) and the formats made from it: JUnit, Markdown, terminal."""

from __future__ import annotations

import io
import json
import xml.etree.ElementTree as ElementTree
from pathlib import Path
from typing import Any

import pytest

from conformance.capabilities import CAPABILITIES
from conformance.findings import Finding, Severity
from conformance.report.json_report import build_report, read_json, write_json
from conformance.report.junit import junit_xml, write_junit
from conformance.report.markdown import markdown
from conformance.report.results import CheckResult, CheckRun, ScenarioResult, StaleEntry
from conformance.report.terminal import ProgressPrinter, summary
from conformance.rules.catalog import RULES


def _result() -> CheckResult:
    failing = Finding(
        rule="stream.metadata-first",
        severity=Severity.MUST,
        message="first event is values",
        step="stream",
        event_index=0,
        pointer="/run_id",
        expected="metadata",
        actual=b"values",
    )
    warning = Finding(rule="stream.no-end-event", severity=Severity.SHOULD, message="sent end")
    baselined = Finding(rule="replay.shape", severity=Severity.MUST, message="extra key")
    scenarios = [
        ScenarioResult("greeting", "stream_values", "says hi", 0.25, (failing, warning)),
        ScenarioResult(
            "tool_round_trip",
            "stream_updates",
            "weather",
            1.5,
            (baselined,),
            baselined_rules=frozenset({"replay.shape"}),
            relaxed="live LLM: values not compared",
        ),
        ScenarioResult("store_items", "store", "store", 0.1, error="no recorded fixture x.json"),
    ]
    run = CheckRun(
        target="http://127.0.0.1:9",
        target_kind="external",
        llm_mode="live",
        llm_url="http://localhost:7374/v1",
        notes=["a note the reader needs"],
        duration_s=2.0,
    )
    return CheckResult(run=run, scenarios=scenarios, stale=[StaleEntry("greeting", "rule.gone")])


@pytest.fixture
def report() -> dict[str, Any]:
    return build_report(_result())


def test_json_report_carries_verdicts_and_findings(report: dict[str, Any], tmp_path: Path) -> None:
    assert report["outcome"] == "could not run"
    assert report["exit_code"] == 2
    assert report["level"] == "none"
    assert report["summary"] == {
        "scenarios": 3,
        "passed": 1,
        "failed": 1,
        "errors": 1,
        "not_tested": 0,
        "must": 2,
        "should": 1,
        "may": 0,
        "expected_failures": 1,
        "stale_baseline": 1,
    }
    first = report["scenarios"][0]["findings"][0]
    assert first["location"] == "greeting / stream / event 0 / /run_id"
    assert first["scenario"] == "greeting"
    assert first["actual"] == "b'values'"  # bytes kept readable rather than dropped
    assert report["scenarios"][1]["findings"][0]["baselined"] is True
    assert report["relaxed"] == [
        {"scenario": "tool_round_trip", "reason": "live LLM: values not compared"}
    ]
    assert report["baseline"]["stale"] == ["greeting::rule.gone"]
    assert [c["name"] for c in report["capabilities"]] == list(CAPABILITIES)
    statuses = {c["name"]: c["status"] for c in report["capabilities"]}
    assert statuses["stream_values"] == "fail"
    assert statuses["stream_updates"] == "pass"
    assert statuses["store"] == "not tested"
    # A failing rule also fails its own capability, per the rules catalogue.
    assert RULES["stream.metadata-first"].capability == "runs"
    assert statuses["runs"] == "fail"
    path = tmp_path / "r" / "report.json"
    write_json(report, path)
    assert read_json(path) == json.loads(json.dumps(report))


def test_read_json_refuses_other_files(tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    path.write_text('{"format": 99}')
    with pytest.raises(ValueError, match="not a conformance report"):
        read_json(path)


def test_junit_is_valid_and_counts_right(report: dict[str, Any], tmp_path: Path) -> None:
    path = tmp_path / "junit.xml"
    write_junit(report, path)
    root = ElementTree.parse(path).getroot()
    scenarios, capabilities = root.findall("testsuite")
    assert scenarios.get("name") == "conformance.scenarios"
    assert (scenarios.get("tests"), scenarios.get("failures"), scenarios.get("errors")) == (
        "4",
        "2",
        "1",
    )
    cases = {case.get("name"): case for case in scenarios.findall("testcase")}
    failure = cases["greeting"].find("failure")
    assert failure is not None
    assert failure.get("type") == "stream.metadata-first"
    assert cases["tool_round_trip"].find("failure") is None
    assert "(baselined)" in (cases["tool_round_trip"].findtext("system-out") or "")
    assert cases["store_items"].find("error") is not None
    assert cases["greeting::rule.gone"].find("failure") is not None
    capability_cases = {c.get("name"): c for c in capabilities.findall("testcase")}
    assert len(capability_cases) == len(CAPABILITIES)
    skipped = capability_cases["store"].find("skipped")
    assert skipped is not None and "NOT TESTED" in (skipped.get("message") or "")


def test_junit_for_a_run_that_could_not_start() -> None:
    report = build_report(CheckResult(run=_result().run, scenarios=[], fatal_error="refused"))
    root = ElementTree.fromstring(junit_xml(report).split("?>", 1)[1])
    errors = root.findall("./testsuite/testcase/error")
    assert [e.get("message") for e in errors] == ["refused"]


def test_markdown_summary_first_then_root_causes_and_tables(report: dict[str, Any]) -> None:
    text = markdown(report)
    assert text.startswith("## LangGraph streaming conformance: COULD NOT RUN, level **none**")
    summary_end = text.index("### Findings by root cause")
    summary = text[:summary_end]
    # One screen: the counts and the worst finding with its fix, linked to its rule.
    assert "1 of 23 capabilities passed, 2 failed, 20 NOT TESTED" in summary
    assert "### Fix first" in summary
    assert "[`stream.metadata-first`](docs/rules.md#stream.metadata-first)" in summary
    assert RULES["stream.metadata-first"].text in summary
    # Relaxations, stale entries and errors stated once, in the summary.
    assert summary.count("live LLM: values not compared") == 1
    assert "- **Relaxed** for 1 scenario(s) (tool_round_trip)" in summary
    assert "**Stale baseline entry** `greeting::rule.gone`" in summary
    assert "**Could not run** store_items" in summary
    details = text[summary_end:]
    assert "MUST [`replay.shape`](docs/rules.md#replay.shape) (baselined)" in details
    assert "| store | extended | NOT TESTED | no selected scenario exercised it |" in details
    assert "| greeting | stream_values | FAIL | stream.metadata-first, stream.no-end-event |" in (
        details
    )
    assert text.index("stream.metadata-first") < text.index("replay.shape")  # worst first
    absolute = markdown(report, rules_doc="https://example.invalid/rules.md")
    assert "(https://example.invalid/rules.md#stream.metadata-first)" in absolute


def _finding(rule: str, pointer: str, expected: Any, actual: Any) -> Finding:
    return Finding(
        rule=rule,
        severity=Severity.MUST,
        message="the value differs",
        step="stream",
        pointer=pointer,
        expected=expected,
        actual=actual,
    )


def test_markdown_groups_one_fault_seen_in_many_places() -> None:
    scenarios = [
        ScenarioResult(
            f"scenario_{n}",
            "stream_values",
            "s",
            0.1,
            (
                _finding("replay.value", f"/{n}/metadata/created_by", "system", "me"),
                _finding("replay.value", "/kwargs/config/metadata/created_by", "system", "me"),
            ),
        )
        for n in range(30)
    ]
    run = CheckRun(target="http://t", target_kind="external", llm_mode="fake", llm_url="u")
    text = markdown(build_report(CheckResult(run=run, scenarios=scenarios)))
    assert text.count("#### ") == 1
    assert "Seen 60 time(s) in 30 scenario(s)" in text
    assert "| 1 | **MUST** [`replay.value`](docs/rules.md#replay.value) | created_by | 30 |" in text


def test_markdown_fits_a_pull_request_comment_and_says_what_it_left_out() -> None:
    big = "x" * 2_000
    scenarios = [
        ScenarioResult(
            f"scenario_{n}",
            "stream_values",
            "s",
            0.1,
            tuple(
                _finding("replay.value", f"/field_{n}_{m}", big + str(m), big) for m in range(40)
            ),
        )
        for n in range(60)
    ]
    run = CheckRun(target="http://t", target_kind="external", llm_mode="fake", llm_url="u")
    report = build_report(CheckResult(run=run, scenarios=scenarios))
    text = markdown(report)
    assert len(text) < 65_536
    assert len(json.dumps(report)) > 65_536 * 10  # the JSON keeps everything
    assert "more root cause(s) left out to fit a comment: see the JSON report" in text
    assert text.startswith("## LangGraph streaming conformance: FINDINGS")
    assert "### Fix first" in text


def test_markdown_states_ignore_patterns_and_exclusions() -> None:
    covered = _finding("replay.value", "/metadata/created_by", "system", "me")
    scenario = ScenarioResult(
        "greeting", "stream_values", "s", 0.1, (), ignored=(("created_by", covered),)
    )
    run = CheckRun(
        target="http://t",
        target_kind="external",
        llm_mode="fake",
        llm_url="u",
        ignored=[{"pattern": "created_by", "reason": "--ignore"}],
        excluded_scenarios={"store_crud": "excluded with --exclude-capability store"},
        excluded_capabilities={"store": "excluded with --exclude-capability"},
    )
    report = build_report(CheckResult(run=run, scenarios=[scenario]))
    assert report["ignored"] == [{"pattern": "created_by", "reason": "--ignore", "findings": 1}]
    assert report["scenarios"][0]["ignored"][0]["ignored_by"] == "created_by"
    text = markdown(report)
    assert "**Ignored** `created_by` (1 finding(s) not counted" in text
    assert "**NOT TESTED** capability store: excluded with --exclude-capability" in text
    assert "**NOT TESTED** 1 scenario(s) declared out of scope: store_crud" in text
    assert "| store | extended | NOT TESTED | excluded with --exclude-capability |" in text


def test_terminal_progress_and_summary(report: dict[str, Any]) -> None:
    stream = io.StringIO()
    printer = ProgressPrinter(stream, total=3)
    for scenario in _result().scenarios:
        printer.scenario_done(scenario)
    lines = stream.getvalue().splitlines()
    assert lines[0] == "[1/3] FAIL  greeting  0.25 s"
    assert lines[1].strip().startswith("stream.metadata-first at stream / event 0")
    assert lines[2] == "[2/3] PASS  tool_round_trip  1.50 s"
    assert lines[3] == "[3/3] ERROR store_items  0.10 s"
    text = summary(report)
    assert "greeting         stream_values" not in text  # level column, not capability
    assert "STALE baseline entry greeting::rule.gone" in text
    assert "relaxed (1 scenarios: tool_round_trip): live LLM" in text
    assert "note: a note the reader needs" in text
    assert "capabilities: 1 of 23 passed, 2 failed, 20 NOT TESTED" in text
    assert text.rstrip().splitlines()[-1].startswith("COULD NOT RUN: level none; 1 passed")
