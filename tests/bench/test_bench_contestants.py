"""How the reference server contestants are started: in memory, on the SQLite default in a
temporary directory, on Postgres."""

from __future__ import annotations

from contextlib import AsyncExitStack
from pathlib import Path

from bench.contestants import (
    ALL_CONTESTANTS,
    REFERENCE_SQLITE,
    ContestantOptions,
    _label,
    _reference_argv,
    _sqlite_file,
)
from bench.plan import FULL

OPTIONS = ContestantOptions(
    config_path=Path("langgraph.json"),
    graph_id="agent",
    stream_mode=("messages-tuple",),
    endpoint="thread",
    run_timeout=60.0,
    reference_max_concurrent_runs=50,
    langgraph_dev_jobs=50,
    floor_checkpointer=True,
)


def _option(argv: list[str], name: str) -> str | None:
    return argv[argv.index(name) + 1] if name in argv else None


def test_in_memory_sqlite_and_postgres_get_their_own_command_lines() -> None:
    in_memory = _reference_argv(OPTIONS, 8000)
    assert "--in-memory" in in_memory and "--database" not in in_memory
    sqlite = _reference_argv(OPTIONS, 8000, database="/tmp/x/reference-server.sqlite")
    assert _option(sqlite, "--database") == "/tmp/x/reference-server.sqlite"
    assert "--in-memory" not in sqlite and "--workers" not in sqlite
    postgres = _reference_argv(OPTIONS, 8000, database="postgresql://u@127.0.0.1/db", workers=2)
    assert _option(postgres, "--workers") == "2"


async def test_the_sqlite_file_lives_in_a_directory_removed_afterwards() -> None:
    async with AsyncExitStack() as stack:
        path = Path(_sqlite_file(stack))
        assert path.parent.is_dir() and not path.exists()
        path.write_bytes(b"")  # what the server would create there
    assert not path.parent.exists()


def test_the_sqlite_contestant_is_named_and_asked_for_by_name() -> None:
    assert REFERENCE_SQLITE in ALL_CONTESTANTS
    assert REFERENCE_SQLITE not in FULL.contestants
    assert "SQLite default" in _label(REFERENCE_SQLITE, OPTIONS)
