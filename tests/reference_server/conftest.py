"""Reference servers started as child processes on their SQLite default, for the tests of this
package that need a real process (crashes, signals, the whole suite); and a throwaway Postgres
cluster for the Postgres backend and the worker tests."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest

from conformance.postgres import throwaway_postgres
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


@pytest.fixture(scope="session")
def postgres_cluster_url() -> Iterator[str]:
    """A Postgres cluster made for the session from the distribution's binaries, removed at
    its end (``apt-get install -y postgresql``)."""
    with throwaway_postgres() as url:
        yield url


@pytest.fixture
def postgres_url(postgres_cluster_url: str) -> str:
    """The URL of a database of its own for one test, in the session's cluster."""
    name = f"test_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(postgres_cluster_url, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    return postgres_cluster_url.rsplit("/", 1)[0] + f"/{name}"
