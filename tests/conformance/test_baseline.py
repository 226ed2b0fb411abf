"""The expected-failures baseline: parsing both formats, and what counts as stale."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.baseline import (
    Baseline,
    BaselineError,
    finding_id,
    load_baseline,
    selects,
    write_baseline,
)
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
        ("a::b::c::nopointer\n", "'a::b::c::nopointer'"),
        ("a::b::::/p\n", "'a::b::::/p'"),
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


def test_an_entry_can_name_one_finding(tmp_path: Path) -> None:
    path = tmp_path / "baseline.txt"
    path.write_text(
        "s::replay.shape::get_thread::/config\ns::replay.value::get_run\nt::replay.header\n"
    )
    baseline = load_baseline(path)
    known = Finding("replay.shape", Severity.MUST, "m", "s", "get_thread", pointer="/config")
    new_pointer = Finding("replay.shape", Severity.MUST, "m", "s", "get_thread", pointer="/x")
    new_step = Finding("replay.shape", Severity.MUST, "m", "s", "other", pointer="/config")
    any_pointer = Finding("replay.value", Severity.MUST, "m", "s", "get_run", pointer="/a/b")
    selectors = baseline.rules_for("s")
    assert selects("replay.shape::get_thread::/config", known)
    assert [
        f
        for f in (known, new_pointer, new_step, any_pointer)
        if any(selects(selector, f) for selector in selectors)
    ] == [known, any_pointer]
    assert selects("replay.header", Finding("replay.header", Severity.MUST, "m", "t", "x"))
    # stale per finding: the known one is gone, a new one of the same rule does not keep it
    assert baseline.stale({"s": [new_pointer, any_pointer]}, {"s"}) == [
        ("s", "replay.shape::get_thread::/config")
    ]
    assert finding_id("s", known) == "s::replay.shape::get_thread::/config"
    assert finding_id("s", any_pointer) == "s::replay.value::get_run::/a/b"
    written = tmp_path / "written.txt"
    write_baseline(written, [("s", finding_id("s", known).partition("::")[2])])
    assert load_baseline(written).entries == {("s", "replay.shape::get_thread::/config")}
