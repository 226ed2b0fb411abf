"""``conformance check`` end to end on the bundled reference server: the README's main job.

The command with no ``--target`` starts the reference server and the fake LLM itself; the
pytest plugin is pointed at a reference server and snapshots it. A few representative
scenarios keep this quick; the whole catalogue is the same command without ``--scenario``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from conformance import check

pytest_plugins = ["pytester"]

SCENARIOS = (
    "stream_values_greeting",
    "stream_messages_tuple_tool_call",
    "threads_crud",
    "error_unknown_thread",
)


def test_check_without_target_validates_the_bundled_reference_server(tmp_path: Path) -> None:
    report_path = tmp_path / "report.json"
    junit_path = tmp_path / "junit.xml"
    markdown_path = tmp_path / "report.md"
    argv = [sys.executable, "-m", "conformance.cli", "check"]
    for name in SCENARIOS:
        argv += ["--scenario", name]
    argv += [
        "--report-json",
        str(report_path),
        "--junit",
        str(junit_path),
        "--markdown",
        str(markdown_path),
    ]
    completed = subprocess.run(argv, capture_output=True, text=True, timeout=240, check=False)
    report = json.loads(report_path.read_text())
    assert report["target_kind"] == "bundled reference server"
    assert [s["name"] for s in report["scenarios"]] == list(SCENARIOS)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert report["outcome"] == "conformant"
    assert "started the bundled reference server" in completed.stdout
    assert junit_path.read_text().startswith("<?xml")
    assert "CONFORMANT" in markdown_path.read_text()


@pytest.fixture(scope="module")
def reference_url() -> Iterator[str]:
    server = check.start_reference_server()
    try:
        yield server.url
    finally:
        server.stop()


def test_pytest_plugin_against_the_reference_server(
    pytester: pytest.Pytester, reference_url: str, fake_llm_url: str
) -> None:
    snapshots = pytester.path / "snapshots"
    options = [
        "-p",
        "no:cacheprovider",
        "-p",
        "no:langsmith_plugin",
        "--conformance-target",
        reference_url,
        "--conformance-llm-url",
        fake_llm_url,
        *(arg for name in SCENARIOS[:2] for arg in ("--conformance-scenario", name)),
        "--conformance-snapshots",
        "--conformance-snapshot-dir",
        str(snapshots),
    ]
    recorded = pytester.runpytest_subprocess(*options, "--snapshot-update", "-k", "snapshot")
    assert "2 snapshots generated" in recorded.stdout.str()
    assert sorted(path.name for path in snapshots.iterdir()) == [
        f"{name}.transcript.json" for name in sorted(SCENARIOS[:2])
    ]
    text = (snapshots / "stream_values_greeting.transcript.json").read_text()
    assert '"event": "metadata"' in text and "<uuid:" in text  # volatile ids as placeholders
    # The same server a second time, every item: the replay and rule items pass, and its
    # normalised output is what was recorded.
    checked = pytester.runpytest_subprocess(*options)
    assert checked.ret == 0, checked.stdout.str()
    assert "2 snapshots passed" in checked.stdout.str()
