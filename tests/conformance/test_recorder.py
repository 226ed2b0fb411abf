"""The recorder and the oracle launcher; one end-to-end recording against a live
``langgraph dev`` (the ground truth, ~10 s to start), the rest without one."""

from __future__ import annotations

import argparse
import json
import time
from importlib import metadata
from pathlib import Path

import pytest

from conformance import oracle, recorder
from conformance.processes import free_port
from conformance.scenarios import CATALOGUE
from conformance.transcript import load

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def _arguments(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    recorder.add_arguments(parser)
    return parser.parse_args(list(argv))


def test_records_one_scenario_from_a_live_langgraph_dev(tmp_path: Path) -> None:
    fixtures = tmp_path / "fixtures"
    (fixtures).mkdir()
    (fixtures / "gone_scenario.json").write_text("{}")

    code = recorder.run(
        _arguments("--scenario", "stream_values_greeting", "--fixtures", str(fixtures), "--prune")
    )

    assert code == 0
    assert sorted(path.name for path in fixtures.iterdir()) == ["stream_values_greeting.json"]
    transcript = load(fixtures / "stream_values_greeting.json")
    assert transcript.scenario == "stream_values_greeting"
    assert transcript.description == CATALOGUE["stream_values_greeting"].description
    assert [exchange.step for exchange in transcript.exchanges] == [
        "create_thread",
        "stream",
        "get_run",
        "get_state",
    ]
    stream = transcript.exchange("stream").response
    assert stream.status == 200
    assert stream.header("content-type") == "text/event-stream; charset=utf-8"
    assert stream.body.startswith(b"event: metadata\r\ndata: {")
    assert b"Hello! How can I help you today?" in stream.body
    assert transcript.exchange("get_run").response.json()["status"] == "success"
    assert transcript.recorded_with == {
        package: metadata.version(package) for package in recorder.RECORDED_PACKAGES
    }


def test_unknown_scenario_is_refused_before_starting_anything(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = recorder.run(_arguments("--scenario", "no_such_scenario", "--fixtures", str(tmp_path)))
    assert code == 2
    assert "no_such_scenario" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_unreachable_target_exits_2_quickly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = f"http://127.0.0.1:{free_port()}"
    started = time.monotonic()
    code = recorder.run(
        _arguments(
            "--target",
            target,
            "--llm-url",
            "http://127.0.0.1:9/v1",
            "--scenario",
            "error_unknown_thread",
            "--fixtures",
            str(tmp_path),
        )
    )
    assert code == 2
    assert time.monotonic() - started < 10
    assert "unreachable" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_stale_fixtures_are_reported_not_deleted_without_prune(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "gone_scenario.json").write_text("{}")
    (tmp_path / "stream_values_greeting.json").write_text("{}")
    recorder._report_stale(tmp_path, prune=False)
    assert (tmp_path / "gone_scenario.json").exists()
    assert "stale fixture gone_scenario.json" in capsys.readouterr().out


# --- the oracle launcher, without starting it -----------------------------------------------------


def test_config_paths_are_made_absolute(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    config = tmp_path / "langgraph.json"
    config.write_text(
        json.dumps(
            {
                "dependencies": [".", "./pkg", "langchain_openai"],
                "graphs": {
                    "file": "./agent/graph.py:graph",
                    "module": "agent.scenario_graphs:weather_agent",
                    "described": {"path": "./other.py:make", "description": "d"},
                },
                "env": "./.env",
            }
        )
    )
    rewritten = oracle._absolute_config(config)
    assert rewritten["dependencies"] == [str(tmp_path), str(tmp_path / "pkg"), "langchain_openai"]
    assert rewritten["graphs"] == {
        "file": f"{tmp_path / 'agent/graph.py'}:graph",
        "module": "agent.scenario_graphs:weather_agent",
        "described": {"path": f"{tmp_path / 'other.py'}:make", "description": "d"},
    }
    assert rewritten["env"] == str(tmp_path / ".env")


def test_the_project_config_loads_from_anywhere() -> None:
    rewritten = oracle._absolute_config(PROJECT_ROOT / "langgraph.json")
    for spec in rewritten["graphs"].values():
        location = spec.rsplit(":", 1)[0]
        assert location.startswith("/") or "/" not in location


def test_server_environment_is_quiet_and_keyless(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret")
    monkeypatch.setenv("LANGSMITH_API_KEY", "ls-secret")
    monkeypatch.setenv("LANGSMITH_TRACING", "true")
    environment = oracle._server_environment(PROJECT_ROOT, {"LLM_BASE_URL": "http://x/v1"})
    assert not [key for key in environment if key.endswith("_API_KEY")]
    assert environment["LANGGRAPH_CLI_NO_ANALYTICS"] == "1"
    assert environment["LANGGRAPH_NO_VERSION_CHECK"] == "true"
    assert environment["LANGSMITH_TRACING"] == "false"
    assert environment["LLM_BASE_URL"] == "http://x/v1"
    assert environment["PYTHONPATH"].split(":")[0] == str(PROJECT_ROOT)


def test_port_2024_is_never_used() -> None:
    with pytest.raises(ValueError, match="2024"):
        oracle.start_langgraph_dev(PROJECT_ROOT / "langgraph.json", port=2024)


def test_missing_config_is_named(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"nothing\.json"):
        oracle.start_langgraph_dev(tmp_path / "nothing.json")
