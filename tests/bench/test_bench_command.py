"""`python -m bench` end to end on the two floors only (no server to start), tiny counts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.__main__ import main
from bench.command import EXIT_OK, EXIT_SETUP_FAILED
from bench.report import RESULTS_END, RESULTS_START

PROJECT_CONFIG = Path(__file__).resolve().parents[2] / "langgraph.json"


def test_a_tiny_run_prints_the_tables_and_writes_the_docs_and_the_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "benchmarks.md"
    raw = tmp_path / "raw.json"
    code = main(
        [
            "--contestants",
            "floor,fake-llm",
            "--rounds",
            "1",
            "--concurrency",
            "2",
            "--hold",
            "2",
            "--config",
            str(PROJECT_CONFIG),
            "--output",
            str(output),
            "--json",
            str(raw),
        ]
    )
    printed = capsys.readouterr().out
    assert code == EXIT_OK
    for title in (
        "1. Time to the first token event",
        "2. Streamed tokens per second",
        "3a. Completed runs per second and run latency: greeting",
        "3b. Completed runs per second and run latency: tool round trip",
        "4. Server CPU seconds per 1,000 events",
        "5. Resident memory at rest, and with 2 streams held open",
    ):
        assert title in printed
    assert "The reference server was not measured in this run." in printed
    document = output.read_text()
    assert RESULTS_START in document and RESULTS_END in document
    data = json.loads(raw.read_text())
    assert set(data["contestants"]) == {"floor", "fake-llm"}
    figures = {record["figure"] for record in data["records"]}
    assert figures == {"warm-up", "first token", "long answer", "throughput"}
    assert all(sample["ok"] for record in data["records"] for sample in record["batch"]["samples"])
    assert data["memory"]["floor"]["hold"]["opened"] == 2
    assert data["environment"]["command"].startswith("python -m bench --quick --contestants")

    again = tmp_path / "again.md"
    assert main(["--report-only", str(raw), "--output", str(again)]) == EXIT_OK
    assert capsys.readouterr().out == printed
    assert again.read_text() == document


def test_report_only_refuses_a_file_that_is_not_a_saved_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bogus = tmp_path / "bogus.json"
    bogus.write_text('{"plan": {}}')
    assert main(["--report-only", str(bogus), "--no-docs"]) == EXIT_SETUP_FAILED
    assert "not a saved run" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--contestants", "floor,nginx"], "unknown contestant(s) nginx"),
        (["--figures", "speed"], "unknown figure(s) speed"),
        (["--config", "/nonexistent/langgraph.json"], "does not exist"),
        (["--rounds", "0"], "rounds must be at least 1"),
    ],
)
def test_bad_arguments_are_refused_with_a_reason(
    arguments: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--config", str(PROJECT_CONFIG), *arguments]) == EXIT_SETUP_FAILED
    assert message in capsys.readouterr().err


def test_concurrency_levels_must_be_positive_integers(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--concurrency", "1,zero"])
    assert "comma-separated integers" in capsys.readouterr().err
