from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.freezer import Freezer


def _state(pid: int) -> str:
    text = Path(f"/proc/{pid}/stat").read_text()
    return text[text.rfind(")") + 2]


def _wait_for_state(pid: int, wanted: set[str]) -> str:
    deadline = time.monotonic() + 5.0
    state = _state(pid)
    while state not in wanted and time.monotonic() < deadline:
        time.sleep(0.01)
        state = _state(pid)
    return state


@pytest.fixture
def sleepers() -> Iterator[list[subprocess.Popen[bytes]]]:
    children = [
        subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"]) for _ in range(3)
    ]
    try:
        yield children
    finally:
        for child in children:
            child.kill()
            child.wait()


def test_only_the_contestant_on_turn_runs(sleepers: list[subprocess.Popen[bytes]]) -> None:
    first, second, shared = (child.pid for child in sleepers)
    freezer = Freezer([first, second, shared], never_frozen=[shared])
    assert freezer.only(first) is False  # nothing was stopped yet
    assert _wait_for_state(second, {"T"}) == "T"
    assert _state(first) != "T"
    assert _state(shared) != "T"
    assert freezer.only(second) is True  # it had been stopped
    assert _wait_for_state(first, {"T"}) == "T"
    assert _wait_for_state(second, {"S", "R"}) in {"S", "R"}
    assert freezer.frozen == (first,)
    freezer.thaw_all()
    assert _wait_for_state(first, {"S", "R"}) in {"S", "R"}
    assert freezer.frozen == ()


def test_a_contestant_that_is_gone_is_no_error(sleepers: list[subprocess.Popen[bytes]]) -> None:
    gone = sleepers[0]
    gone.kill()
    gone.wait()
    freezer = Freezer([gone.pid, sleepers[1].pid])
    freezer.only(sleepers[1].pid)
    freezer.thaw_all()
