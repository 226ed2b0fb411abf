"""The expected-failures baseline: parsing both formats, and what counts as stale."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.baseline import Baseline, BaselineError, load_baseline, write_baseline
from conformance.findings import Finding, Severity


def _failure(rule: str) -> Finding:
    return Finding(rule=rule, severity=Severity.MUST, message="broken")


def test_text_baseline_ignores_comments_and_blank_lines(tmp_path: Path) -> None:
    path = tmp_path / "baseline.txt"
    path.write_text(
        "# accepted for now\n\nstream_values::stream.metadata-first  # ticket 12\n"
        "join_stream::replay.event-order\n"
    )
    baseline = load_baseline(path)
    assert baseline.entries == {
        ("stream_values", "stream.metadata-first"),
        ("join_stream", "replay.event-order"),
    }
    assert baseline.rules_for("stream_values") == {"stream.metadata-first"}
    assert baseline.rules_for("other") == frozenset()


@pytest.mark.parametrize(
    "content",
    ['{"expected_failures": ["a::rule.one", "b::rule.two"]}', '["a::rule.one", "b::rule.two"]'],
)
def test_json_baseline_in_both_shapes(tmp_path: Path, content: str) -> None:
    path = tmp_path / "baseline.json"
    path.write_text(content)
    assert load_baseline(path).entries == {("a", "rule.one"), ("b", "rule.two")}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("stream_values stream.metadata-first\n", "baseline.txt:1"),
        ("ok::rule\n::rule\n", "baseline.txt:2"),
        ("a::b::c\n", "'a::b::c'"),
        ('{"expected_failures": "a::b"}', "a JSON baseline is a list"),
        ("[1, 2]", "a JSON baseline is a list"),
        ("{not json", "invalid JSON"),
    ],
)
def test_bad_baseline_names_the_problem(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "baseline.txt"
    path.write_text(content)
    with pytest.raises(BaselineError, match=message.replace("[", r"\[")):
        load_baseline(path)


def test_missing_baseline_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(BaselineError, match="cannot read baseline"):
        load_baseline(tmp_path / "absent.txt")


def test_stale_only_for_judged_scenarios_that_no_longer_fail() -> None:
    baseline = Baseline(
        entries=frozenset({("fixed", "rule.a"), ("still_broken", "rule.b"), ("not_run", "rule.c")})
    )
    failing = {"fixed": [_failure("rule.other")], "still_broken": [_failure("rule.b")]}
    stale = baseline.stale(failing, judged={"fixed", "still_broken"})
    assert stale == [("fixed", "rule.a")]


def test_unknown_scenarios_are_reported() -> None:
    baseline = Baseline(entries=frozenset({("gone", "r"), ("here", "r")}))
    assert baseline.unknown_scenarios({"here"}) == ["gone"]


def test_written_baseline_reads_back(tmp_path: Path) -> None:
    path = tmp_path / "out" / "baseline.txt"
    write_baseline(path, [("b", "rule.y"), ("a", "rule.x"), ("a", "rule.x")])
    assert load_baseline(path).entries == {("a", "rule.x"), ("b", "rule.y")}
    assert path.read_text().splitlines()[-2:] == ["a::rule.x", "b::rule.y"]
