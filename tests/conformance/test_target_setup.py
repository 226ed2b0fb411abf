"""Setting up a target without system assistants: the suite names, finds or creates the
assistants the scenarios run, deletes what it created (also on Ctrl-C), and `conformance
doctor` says whether a check could run. Against a real reference server whose system
assistant of ``weather_agent`` was deleted."""

from __future__ import annotations

import functools
import json
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from conformance import check
from conformance.cli import main
from conformance.processes import free_port
from conformance.scenarios import CATALOGUE
from conformance.target_setup import (
    CREATED_BY,
    graphs_needed,
    parse_assistant,
    scenario_graphs,
    with_assistants,
)

GREETING = "stream_values_greeting"  # runs weather_agent by graph id


def _leftovers(url: str) -> list[str]:
    found = httpx.post(
        url + "/assistants/search", json={"metadata": {"created_by": CREATED_BY}}, timeout=10
    ).json()
    return [assistant["assistant_id"] for assistant in found]


@pytest.fixture(scope="module")
def bare_target() -> Iterator[str]:
    """A reference server that has no system assistant for weather_agent."""
    server = check.start_reference_server()
    try:
        system = httpx.post(
            server.url + "/assistants/search",
            json={"graph_id": "weather_agent", "metadata": {"created_by": "system"}},
            timeout=10,
        ).json()
        assert len(system) == 1
        deleted = httpx.delete(server.url + f"/assistants/{system[0]['assistant_id']}")
        assert deleted.status_code in (200, 204)
        yield server.url
    finally:
        server.stop()


@pytest.fixture(scope="module")
def fake_llm(fake_llm_url: str) -> str:
    return fake_llm_url


def test_graphs_needed_and_the_rewritten_run_bodies() -> None:
    graphs = scenario_graphs()
    assert {"weather_agent", "approval_agent", "parent_agent", "custom_events"} <= set(graphs)
    scenario = CATALOGUE[GREETING]
    assert graphs_needed([scenario], graphs) == ["weather_agent"]
    # deliberate errors name graphs that do not exist: not a graph to set up
    assert "no_such_graph" not in graphs_needed(CATALOGUE.values(), graphs)
    rewritten = with_assistants(scenario, {"weather_agent": "A-1"})
    bodies = [
        step.body for step in rewritten.steps if isinstance(getattr(step, "body", None), dict)
    ]
    assert any(body.get("assistant_id") == "A-1" for body in bodies)
    assert not any(body.get("assistant_id") == "weather_agent" for body in bodies)


@pytest.mark.parametrize(
    ("text", "complaint"),
    [("weather_agent", "expected 'GRAPH=ASSISTANT_ID'"), ("nope=1", "not a scenario graph")],
)
def test_bad_assistant_options_are_named(text: str, complaint: str) -> None:
    with pytest.raises(ValueError, match=complaint):
        parse_assistant(text, scenario_graphs())


def test_a_stand_in_assistant_is_created_judged_fairly_and_deleted(
    bare_target: str, fake_llm: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = tmp_path / "report.json"
    transcripts = tmp_path / "transcripts"
    code = main(
        [
            "check", "--target", bare_target, "--llm-url", fake_llm, "--scenario", GREETING,
            "--scenario", "assistants_system", "--report-json", str(report),
            "--save-transcripts", str(transcripts),
        ]
    )  # fmt: skip
    data = json.loads(report.read_text())
    statuses = {s["name"]: s["status"] for s in data["scenarios"]}
    # The greeting runs on the stand-in and passes; the missing system assistant is still a
    # finding: the stand-in never hides it.
    assert statuses == {GREETING: "pass", "assistants_system": "fail"}, capsys.readouterr().out
    assert code == 1
    assert any("the suite created weather_agent=" in note for note in data["notes"])
    assert data["ignored"][0]["pattern"] == "created_by"
    assert data["ignored"][0]["findings"] >= 1
    assert _leftovers(bare_target) == []
    saved = sorted(path.name for path in transcripts.iterdir())
    assert saved == ["assistants_system.json", f"{GREETING}.json"]


def test_a_named_assistant_is_used_and_kept(
    bare_target: str, fake_llm: str, tmp_path: Path
) -> None:
    created = httpx.post(
        bare_target + "/assistants", json={"graph_id": "weather_agent"}, timeout=10
    ).json()["assistant_id"]
    report = tmp_path / "report.json"
    code = main(
        [
            "check", "--target", bare_target, "--llm-url", fake_llm, "--scenario", GREETING,
            "--assistant", f"weather_agent={created}", "--report-json", str(report),
        ]
    )  # fmt: skip
    data = json.loads(report.read_text())
    assert code == 0, data
    assert any(f"weather_agent={created}" in note for note in data["notes"])
    assert httpx.get(bare_target + f"/assistants/{created}", timeout=10).status_code == 200


def test_a_mapped_graph_stays_relaxed_when_its_runs_go_to_a_chosen_assistant(
    bare_target: str, fake_llm: str, tmp_path: Path
) -> None:
    # The assistant rewrites the run bodies; which graph a scenario runs (and so its mapped
    # mode) must still be read from the scenario as written.
    created = httpx.post(
        bare_target + "/assistants", json={"graph_id": "weather_agent"}, timeout=10
    ).json()["assistant_id"]
    report = tmp_path / "report.json"
    code = main(
        [
            "check", "--target", bare_target, "--llm-url", fake_llm, "--scenario", GREETING,
            "--graph", "weather_agent=weather_agent", "--assistant", f"weather_agent={created}",
            "--report-json", str(report),
        ]
    )  # fmt: skip
    data = json.loads(report.read_text())
    assert code == 0, data
    assert [entry["scenario"] for entry in data["relaxed"]] == [GREETING]


def test_without_creation_or_with_a_missing_assistant_the_check_cannot_run(
    bare_target: str, fake_llm: str, capsys: pytest.CaptureFixture[str]
) -> None:
    base = ["--target", bare_target, "--llm-url", fake_llm, "--scenario", GREETING]
    assert main(["check", *base, "--no-create-assistants"]) == 2
    out = capsys.readouterr().out
    assert "no system assistant for graph 'weather_agent'" in out
    assert "--assistant weather_agent=ASSISTANT_ID" in out
    missing = "00000000-0000-0000-0000-000000000000"
    assert main(["check", *base, "--assistant", f"weather_agent={missing}"]) == 2
    assert f"GET /assistants/{missing} answered 404" in capsys.readouterr().out


def test_doctor_says_ready_or_not_and_leaves_nothing(
    bare_target: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["doctor", "--target", bare_target]) == 0
    out = capsys.readouterr().out
    assert "weather_agent -> " in out and "(created by the suite)" in out
    assert "READY" in out
    assert _leftovers(bare_target) == []
    assert main(["doctor", "--target", bare_target, "--no-create-assistants"]) == 2
    assert "NOT READY" in capsys.readouterr().out
    assert main(["doctor", "--target", f"http://127.0.0.1:{free_port()}"]) == 2
    assert "unreachable" in capsys.readouterr().out


def test_exclusions_are_not_tested_with_the_reason(
    bare_target: str, fake_llm: str, tmp_path: Path
) -> None:
    report = tmp_path / "report.json"
    code = main(
        [
            "check", "--target", bare_target, "--llm-url", fake_llm, "--capability", "store",
            "--scenario", GREETING, "--exclude-capability", "store",
            "--exclude-scenario", "assistants_system", "--report-json", str(report),
        ]
    )  # fmt: skip
    data = json.loads(report.read_text())
    assert [s["name"] for s in data["scenarios"]] == [GREETING]
    store = next(c for c in data["capabilities"] if c["name"] == "store")
    assert (store["status"], store["reason"]) == (
        "not tested",
        "excluded with --exclude-capability",
    )
    assert {e["name"] for e in data["excluded"]["scenarios"]} == {
        s for s, scenario in CATALOGUE.items() if scenario.capability == "store"
    }
    # A partial run claims no level, and the greeting itself passed.
    assert data["level"] == "none"
    assert code == 0


def test_unknown_exclusions_are_usage_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--target", "http://127.0.0.1:9", "--exclude-scenario", "nope"]) == 2
    assert "--exclude-scenario: unknown scenario(s): nope" in capsys.readouterr().out


def test_ctrl_c_deletes_the_stand_in_assistants(bare_target: str) -> None:
    # A model that accepts connections and never answers keeps the run going until the
    # interrupt: the stand-in must not outlive the run.
    black_hole = socket.socket()
    black_hole.bind(("127.0.0.1", 0))
    black_hole.listen(64)
    llm_url = f"http://127.0.0.1:{black_hole.getsockname()[1]}/v1"
    process = subprocess.Popen(
        [
            sys.executable, "-X", "faulthandler", "-m", "conformance.cli", "check",
            "--target", bare_target, "--llm-url", llm_url, "--scenario", GREETING,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        # A shell without job control starts background jobs with Ctrl-C ignored, and the
        # child would inherit that: give it the terminal's default, as a user's CLI has.
        preexec_fn=functools.partial(signal.signal, signal.SIGINT, signal.SIG_DFL),
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while not _leftovers(bare_target):
            assert time.monotonic() < deadline, "the stand-in assistant never appeared"
            assert process.poll() is None, process.communicate()[0]
            time.sleep(0.02)
        process.send_signal(signal.SIGINT)
        try:
            out, _ = process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            # faulthandler prints every thread's stack on SIGABRT: say where it hung.
            process.send_signal(signal.SIGABRT)
            pytest.fail(f"no exit within 30 s of Ctrl-C:\n{process.communicate(timeout=10)[0]}")
    finally:
        if process.poll() is None:
            process.kill()
        black_hole.close()
    assert process.returncode == 2, out
    assert "interrupted" in out
    assert _leftovers(bare_target) == []
