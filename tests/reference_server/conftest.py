"""Reference servers started as child processes on their SQLite default, for the tests of this
package that need a real process (crashes, signals, the whole suite)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from conformance.processes import ServerProcess, free_port, python_module

PROJECT_ROOT = Path(__file__).resolve().parents[2]
CONFIG_PATH = PROJECT_ROOT / "langgraph.json"

StartServer = Callable[[Path], ServerProcess]


@pytest.fixture
def start_server(fake_llm_url: str) -> Iterator[StartServer]:
    """Starts a reference server on a SQLite file (the default storage) and a free loopback
    port, serving the project's langgraph.json; every one started is stopped afterwards."""
    started: list[ServerProcess] = []

    def _start(database: Path) -> ServerProcess:
        port = free_port()
        argv = python_module(
            "reference_server",
            "--config",
            str(CONFIG_PATH),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--database",
            str(database),
            "--heartbeat-seconds",
            "0.5",
            "--log-level",
            "warning",
        )
        process = ServerProcess(
            argv,
            port=port,
            env={"LLM_BASE_URL": fake_llm_url, "LANGSMITH_TRACING": "false"},
            cwd=PROJECT_ROOT,
            name="reference-server",
            start_timeout=60.0,
        )
        started.append(process)
        return process.start()

    try:
        yield _start
    finally:
        for process in started:
            process.__exit__(None, None, None)
