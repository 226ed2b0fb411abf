"""The pytest plugin, run in a child pytest (pytester) against a scripted target.

The child's conftest replaces the scenario runner and the judges by tables, so these tests are
about the plugin: node ids, verdict mapping (fail, xfail, stale, warning, error), JUnit, the
summary, and staying silent without ``--conformance-target``.
"""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree

import pytest

from conformance.capabilities import CAPABILITIES
from conformance.processes import free_port
from conformance.transcript import Transcript, dump

pytest_plugins = ["pytester"]

# The child's items: two scenarios x (replay + two rules), and one per capability.
_CHILD_ITEMS = 2 * 3 + len(CAPABILITIES)

# langsmith's plugin costs a second of imports in every child and plays no part here.
_QUIET = ("-p", "no:cacheprovider", "-p", "no:langsmith_plugin")

_CHILD_CONFTEST = """
import conformance.check as check
import conformance.client as client
import conformance.pytest_plugin as plugin
from conformance.findings import Finding, Severity
from conformance.scenarios.model import Scenario
from conformance.transcript import Transcript

SCENARIOS = {
    "alpha": Scenario("alpha", "alpha story", "stream_values", True, ()),
    "beta": Scenario("beta", "beta story", "threads", False, ()),
}
FINDINGS = {
    "alpha": [
        Finding("stream.metadata-first", Severity.MUST, "first event is values", step="s"),
        Finding("stream.no-end", Severity.SHOULD, "sent an end event", step="s"),
        Finding("replay.event-order", Severity.MUST, "baselined divergence", step="s"),
    ],
    "beta": [],
}


async def run_scenario(scenario, base_url, **options):
    return Transcript(scenario=scenario.name, exchanges=[])


def judge(name, fixture, actual, **options):
    return list(FINDINGS[name])


check._catalogue = lambda: SCENARIOS
check.judge_transcript = judge
client.run_scenario = run_scenario
plugin._catalogue_rule_ids = lambda: ["stream.metadata-first", "stream.no-end"]
"""


@pytest.fixture
def child(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeconftest(_CHILD_CONFTEST)
    fixtures = pytester.path / "fixtures"
    fixtures.mkdir()
    for name in ("alpha", "beta"):
        dump(Transcript(scenario=name, exchanges=[]), fixtures / f"{name}.json")
    return pytester


def _options(child: pytest.Pytester, target: str, *extra: str) -> list[str]:
    return [
        "--conformance-target",
        target,
        "--conformance-llm-url",
        "http://127.0.0.1:1/v1",
        "--conformance-fixtures",
        str(child.path / "fixtures"),
        *_QUIET,
        *extra,
    ]


def test_silent_without_a_target(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_plain="def test_one():\n    assert True\n")
    result = pytester.runpytest_subprocess("-v", *_QUIET)
    result.assert_outcomes(passed=1)
    assert "conformance::" not in result.stdout.str()
    assert "LangGraph streaming conformance" not in result.stdout.str()


def test_options_are_registered(pytester: pytest.Pytester) -> None:
    config = pytester.parseconfig()
    for option in (
        "conformance_target",
        "conformance_llm_url",
        "conformance_header",
        "conformance_scenario",
        "conformance_snapshots",
    ):
        assert hasattr(config.option, option), option
    assert config.getoption("conformance_target") is None


def test_items_and_verdicts(child: pytest.Pytester, reachable_url: str) -> None:
    baseline = child.path / "baseline.txt"
    baseline.write_text("alpha::replay.event-order\nbeta::stream.no-end\n")
    junit = child.path / "junit.xml"
    report = child.path / "report.json"
    result = child.runpytest_subprocess(
        *_options(
            child,
            reachable_url,
            "-v",
            "-rA",
            f"--junitxml={junit}",
            "--conformance-baseline",
            str(baseline),
            "--conformance-report-json",
            str(report),
        ),
    )
    out = result.stdout.str()
    for node, outcome in [
        ("conformance::alpha::replay", "XFAIL"),  # baselined
        ("conformance::alpha::stream.metadata-first", "FAILED"),
        ("conformance::alpha::stream.no-end", "PASSED"),  # a SHOULD: a warning, not a failure
        ("conformance::beta::replay", "PASSED"),
        ("conformance::beta::stream.no-end", "FAILED"),  # stale baseline entry
        ("conformance::capabilities::stream_values", "FAILED"),
        ("conformance::capabilities::threads", "FAILED"),  # its scenario has a stale entry
        ("conformance::capabilities::store", "SKIPPED"),
    ]:
        assert f"{node} {outcome}" in out, node
    assert "first event is values" in out
    assert "stale baseline entry: beta::stream.no-end" in out
    assert "ConformanceWarning" in out and "sent an end event" in out
    assert "LangGraph streaming conformance" in out and "level none" in out
    assert result.ret == 1
    cases = {
        f"{case.get('classname')}.{case.get('name')}": case
        for case in ElementTree.parse(junit).getroot().iter("testcase")
    }
    assert cases["conformance.alpha.stream.metadata-first"].find("failure") is not None
    assert cases["conformance.beta.replay"].find("failure") is None
    assert '"exit_code": 1' in report.read_text()


def test_unreachable_target_errors_every_item(child: pytest.Pytester) -> None:
    target = f"http://127.0.0.1:{free_port()}"
    result = child.runpytest_subprocess(*_options(child, target))
    outcomes = result.parseoutcomes()
    assert outcomes.get("passed", 0) == 0
    assert outcomes.get("skipped", 0) == 0
    assert outcomes["errors"] == _CHILD_ITEMS
    assert "unreachable" in result.stdout.str()
    assert result.ret == 1


def test_bad_option_is_a_usage_error(child: pytest.Pytester, reachable_url: str) -> None:
    result = child.runpytest_subprocess(
        *_options(child, reachable_url, "--conformance-scenario", "nope")
    )
    assert "unknown scenario(s): nope" in result.stderr.str()
    assert result.ret == pytest.ExitCode.USAGE_ERROR


def test_scenario_and_keyword_selection(child: pytest.Pytester, reachable_url: str) -> None:
    result = child.runpytest_subprocess(
        *_options(child, reachable_url, "-v", "--conformance-scenario", "beta", "-k", "replay")
    )
    out = result.stdout.str()
    assert "conformance::beta::replay PASSED" in out
    assert "conformance::alpha" not in out  # not selected: deselected, never run
    result.assert_outcomes(passed=1, deselected=result.parseoutcomes()["deselected"])


_SNAPSHOT_CONFTEST = (
    _CHILD_CONFTEST
    + """
import os
import conformance.report.snapshot as snapshot

FINDINGS["alpha"] = []
snapshot.snapshot_text = lambda transcript: (
    f"{transcript.scenario} says {os.environ.get('CHILD_OUTPUT', 'hello')}\\n"
)
"""
)


def test_snapshots_one_file_per_scenario(
    pytester: pytest.Pytester, reachable_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makeconftest(_SNAPSHOT_CONFTEST)
    fixtures = pytester.path / "fixtures"
    fixtures.mkdir()
    for name in ("alpha", "beta"):
        dump(Transcript(scenario=name, exchanges=[]), fixtures / f"{name}.json")
    snapshots = pytester.path / "snaps"
    where = ["--conformance-snapshot-dir", str(snapshots)]
    # Nothing recorded yet, nothing asked: no snapshot items at all.
    before = pytester.runpytest_subprocess(*_options(pytester, reachable_url, "-v", *where))
    assert "::snapshot" not in before.stdout.str()
    # Asked for before anything is recorded: a snapshot item cannot pass.
    first = pytester.runpytest_subprocess(
        *_options(pytester, reachable_url, "-k", "snapshot", "--conformance-snapshots", *where)
    )
    assert first.ret != 0
    # Recorded as syrupy does it, with --snapshot-update and no option of ours ...
    options = [*_options(pytester, reachable_url, "-k", "snapshot"), *where]
    updated = pytester.runpytest_subprocess(*options, "--snapshot-update")
    assert updated.ret == 0, updated.stdout.str()
    files = sorted(path.name for path in snapshots.iterdir())
    assert files == ["alpha.transcript.json", "beta.transcript.json"]
    assert (snapshots / "alpha.transcript.json").read_text() == "alpha says hello\n"
    # ... and from then on compared on every run.
    again = pytester.runpytest_subprocess(*options)
    again.assert_outcomes(passed=2, deselected=again.parseoutcomes()["deselected"])
    monkeypatch.setenv("CHILD_OUTPUT", "goodbye")
    changed = pytester.runpytest_subprocess(*options)
    assert changed.parseoutcomes()["failed"] == 2
    assert "goodbye" in changed.stdout.str()
    monkeypatch.delenv("CHILD_OUTPUT")
    # An edited snapshot fails too (the "Hullo").
    (snapshots / "alpha.transcript.json").write_text("alpha says Hullo\n")
    edited = pytester.runpytest_subprocess(*options)
    assert edited.parseoutcomes()["failed"] == 1
    assert "conformance::alpha::snapshot" in edited.stdout.str()
    (snapshots / "alpha.transcript.json").write_text("alpha says hello\n")
    # A snapshot no scenario produces any more is reported and fails a full run (syrupy's
    # default, kept).
    (snapshots / "retired_scenario.transcript.json").write_text("old\n")
    unused = pytester.runpytest_subprocess(*_options(pytester, reachable_url), *where)
    assert "1 snapshot unused" in unused.stdout.str()
    assert "retired_scenario" in unused.stdout.str()
    assert unused.ret != 0


def test_snapshots_in_the_default_directory_are_compared(
    pytester: pytest.Pytester, reachable_url: str
) -> None:
    pytester.makeconftest(_SNAPSHOT_CONFTEST)
    fixtures = pytester.path / "fixtures"
    fixtures.mkdir()
    for name in ("alpha", "beta"):
        dump(Transcript(scenario=name, exchanges=[]), fixtures / f"{name}.json")
    options = _options(pytester, reachable_url, "-k", "snapshot")
    assert pytester.runpytest_subprocess(*options, "--snapshot-update").ret == 0
    assert (pytester.path / "__snapshots__" / "conformance" / "beta.transcript.json").is_file()
    (pytester.path / "__snapshots__" / "conformance" / "beta.transcript.json").write_text(
        "beta says Hullo\n"
    )
    checked = pytester.runpytest_subprocess(*options)
    assert checked.parseoutcomes()["failed"] == 1
    assert "Hullo" in checked.stdout.str()


def test_an_excluded_capability_is_skipped_as_not_tested_with_the_reason(
    child: pytest.Pytester, reachable_url: str
) -> None:
    result = child.runpytest_subprocess(
        *_options(child, reachable_url, "-v", "-rs", "--conformance-exclude-capability", "threads")
    )
    out = result.stdout.str()
    assert "conformance::beta" not in out  # beta is a threads scenario: deselected
    assert "NOT TESTED: excluded with --exclude-capability" in out
    assert "conformance::capabilities::threads SKIPPED" in out
