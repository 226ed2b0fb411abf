"""The whole conformance suite against the reference server on its SQLite default, as a user
runs it: at the suite's default concurrency and at 8, and across a restart halfway through the
catalogue (the second half runs on a new process over the same file)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from conformance.cli import main as conformance_main
from conformance.processes import ServerProcess
from conformance.scenarios import CATALOGUE

StartServer = Callable[[Path], ServerProcess]
"""The ``start_server`` fixture (conftest.py): a started server on that SQLite file."""


def _check(
    capsys: pytest.CaptureFixture[str], target: str, llm_url: str, *arguments: str
) -> tuple[int, str]:
    """``conformance check --target ...`` as a user types it: its exit code and output."""
    code = conformance_main(["check", "--target", target, "--llm-url", llm_url, *arguments])
    return code, capsys.readouterr().out


@pytest.mark.parametrize("concurrency", [4, 8])
def test_whole_suite_passes_on_the_sqlite_default(
    concurrency: int,
    tmp_path: Path,
    start_server: StartServer,
    fake_llm_url: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    server = start_server(tmp_path / "state.sqlite")
    code, output = _check(capsys, server.url, fake_llm_url, "--concurrency", str(concurrency))
    assert code == 0, output[-3000:]
    assert "locked" not in server.log_tail(400), server.log_tail(60)


def test_whole_suite_passes_across_a_restart_halfway(
    tmp_path: Path,
    start_server: StartServer,
    fake_llm_url: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    database = tmp_path / "state.sqlite"
    names = list(CATALOGUE)
    halves = [names[: len(names) // 2], names[len(names) // 2 :]]
    for half in halves:
        server = start_server(database)
        selected = [argument for name in half for argument in ("--scenario", name)]
        code, output = _check(capsys, server.url, fake_llm_url, "--concurrency", "8", *selected)
        assert code == 0, output[-3000:]
        server.stop()
