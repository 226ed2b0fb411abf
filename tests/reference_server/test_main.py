"""The ``reference-server`` CLI: flags to settings, clear start-up errors, and a real server on
granian whose SQLite file keeps everything across a restart."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from conformance.processes import ServerProcess, free_port, python_module
from reference_server.__main__ import build_parser, main, settings_from_arguments
from reference_server.settings import Settings, settings_from_json, settings_to_json

TINY_GRAPHS = Path(__file__).parent / "routes" / "tiny_graphs.py"


def _config(tmp_path: Path) -> Path:
    config_path = tmp_path / "langgraph.json"
    config_path.write_text(json.dumps({"graphs": {"counter": f"{TINY_GRAPHS}:counter"}}))
    return config_path


def test_flags_become_settings(tmp_path: Path) -> None:
    arguments = build_parser().parse_args(
        [
            "--config",
            str(tmp_path / "lg.json"),
            "--port",
            "9999",
            "--database",
            str(tmp_path / "db.sqlite"),
            "--max-concurrent-runs",
            "3",
            "--heartbeat-seconds",
            "0.5",
            "--write-interval-seconds",
            "0",
            "--auth-hs256-secret",
            "s",
            "--auth-audience",
            "authenticated",
        ]
    )
    settings = settings_from_arguments(arguments)
    assert settings.port == 9999 and settings.max_concurrent_runs == 3
    assert settings.database_path == (tmp_path / "db.sqlite").resolve()
    assert settings.heartbeat_seconds == 0.5
    assert settings.write_interval_seconds == 0
    assert settings.auth.enabled and settings.auth.audience == "authenticated"
    assert settings_from_json(settings_to_json(settings)) == settings
    in_memory = settings_from_arguments(build_parser().parse_args(["--in-memory"]))
    assert in_memory.in_memory and not in_memory.auth.enabled
    assert in_memory.write_interval_seconds == Settings().write_interval_seconds > 0
    assert settings_from_json(settings_to_json(in_memory)) == in_memory


def test_a_postgres_url_and_workers_reach_the_settings() -> None:
    url = "postgresql://postgres@127.0.0.1:5999/postgres"
    settings = settings_from_arguments(
        build_parser().parse_args(["--database", url, "--workers", "2"])
    )
    assert settings.database_url == url and settings.database == url
    assert settings.database_path is None and not settings.in_memory
    assert settings.workers == 2
    assert settings_from_json(settings_to_json(settings)) == settings


def test_a_postgres_url_without_the_postgres_extra_names_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from conformance import extras

    # As if psycopg were not installed.
    monkeypatch.setattr(extras, "missing_modules", lambda extra: ["psycopg"])
    code = main(["--config", str(_config(tmp_path)), "--database", "postgresql://127.0.0.1:1/x"])
    assert code == 2
    assert "[postgres] extra" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--workers", "2"], "2 workers need a shared database"),
        (["--in-memory", "--workers", "3"], "3 workers need a shared database"),
        (["--workers", "0"], "workers must be at least 1"),
    ],
)
def test_several_workers_without_postgres_are_refused(argv: list[str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        settings_from_arguments(build_parser().parse_args(argv))


@pytest.mark.parametrize(
    "argv",
    [
        ["--in-memory", "--database", "x.sqlite"],
        ["--auth-hs256-secret", "s", "--auth-jwks-url", "http://127.0.0.1:1/"],
        ["--port", "nope"],
    ],
)
def test_conflicting_or_malformed_flags_exit_2(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as raised:
        build_parser().parse_args(argv)
    assert raised.value.code == 2


def test_settings_reject_impossible_values() -> None:
    with pytest.raises(ValueError, match="max_concurrent_runs"):
        Settings(max_concurrent_runs=0)
    with pytest.raises(ValueError, match="heartbeat_seconds"):
        Settings(heartbeat_seconds=0)
    with pytest.raises(ValueError, match="write_interval_seconds"):
        Settings(write_interval_seconds=-0.001)
    with pytest.raises(ValueError, match="write_interval_seconds"):
        Settings(heartbeat_seconds=1, write_interval_seconds=1)


def test_broken_config_fails_before_serving(tmp_path: Path) -> None:
    config_path = tmp_path / "langgraph.json"
    config_path.write_text(json.dumps({"graphs": {"g": "./missing.py:graph"}}))
    completed = subprocess.run(
        python_module("reference_server", "--config", str(config_path), "--in-memory"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert completed.returncode == 2
    assert "graph 'g': file" in completed.stderr and "does not exist" in completed.stderr
    missing = subprocess.run(
        [sys.executable, "-m", "reference_server", "--config", str(tmp_path / "nope.json")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert missing.returncode == 2 and "does not exist" in missing.stderr


def _serve(config_path: Path, database: Path) -> ServerProcess:
    port = free_port()
    return ServerProcess(
        python_module(
            "reference_server",
            "--config",
            str(config_path),
            "--port",
            str(port),
            "--database",
            str(database),
            "--log-level",
            "warning",
            "--max-body-bytes",
            "100000",
        ),
        port=port,
        name="reference-server",
    )


def test_sqlite_server_keeps_everything_across_restart(tmp_path: Path) -> None:
    config_path = _config(tmp_path)
    database = tmp_path / "state" / "reference.sqlite"
    with _serve(config_path, database) as server:
        client = httpx.Client(base_url=server.url, timeout=30)
        assistant = client.post("/assistants", json={"graph_id": "counter", "name": "kept"}).json()
        client.patch(f"/assistants/{assistant['assistant_id']}", json={"name": "kept v2"})
        thread = client.post("/threads", json={"metadata": {"topic": "restart"}}).json()
        thread_id = thread["thread_id"]
        run = client.post(
            f"/threads/{thread_id}/runs/wait",
            json={"assistant_id": "counter", "input": {"items": ["start"]}},
        )
        assert run.status_code == 200, run.text
        client.put(
            "/store/items", json={"namespace": ["prefs"], "key": "k", "value": {"lang": "fr"}}
        )
        before = {
            "thread": client.get(f"/threads/{thread_id}").json(),
            "state": client.get(f"/threads/{thread_id}/state").json(),
            "history": client.post(f"/threads/{thread_id}/history", json={}).json(),
            "runs": client.get(f"/threads/{thread_id}/runs").json(),
            "versions": client.post(
                f"/assistants/{assistant['assistant_id']}/versions", json={}
            ).json(),
        }
        client.close()
    assert database.is_file()

    with _serve(config_path, database) as server:
        client = httpx.Client(base_url=server.url, timeout=30)
        assert client.get(f"/threads/{thread_id}").json() == before["thread"]
        state = client.get(f"/threads/{thread_id}/state").json()
        assert state == before["state"]
        assert state["values"] == {"items": ["start", "first", "second"]}
        assert client.post(f"/threads/{thread_id}/history", json={}).json() == before["history"]
        runs = client.get(f"/threads/{thread_id}/runs").json()
        assert runs == before["runs"] and runs[0]["status"] == "success"
        versions = client.post(f"/assistants/{assistant['assistant_id']}/versions", json={})
        assert versions.json() == before["versions"] and len(versions.json()) == 2
        item = client.get("/store/items", params={"namespace": "prefs", "key": "k"}).json()
        assert item["value"] == {"lang": "fr"}
        system = client.post("/assistants/search", json={"metadata": {"created_by": "system"}})
        assert [entry["graph_id"] for entry in system.json()] == ["counter"]
        # Over the wire too, an oversized body is a 413 with a JSON detail.
        too_big = client.post("/threads", json={"metadata": {"blob": "x" * 200_000}})
        assert too_big.status_code == 413
        assert too_big.json() == {"detail": "Request body too large: the limit is 100000 bytes"}
        client.close()
