"""Fixtures of the agent tests: a stand-in OpenAI endpoint on loopback.

pytest runs in importlib mode, so no test folder is on ``sys.path``; the helper servers beside
these tests (``agent_*.py``, prefixed so they cannot shadow another folder's helpers) are made
importable by name here, before any test module of this folder is imported.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from agent_loopback import LoopbackServer
from agent_openai_stand_in import StandInLLM


@pytest.fixture
def stand_in() -> StandInLLM:
    return StandInLLM()


@pytest.fixture
def stand_in_url(stand_in: StandInLLM) -> Iterator[str]:
    """``base_url`` (ending in ``/v1``) of a stand-in OpenAI endpoint serving ``stand_in``."""
    with LoopbackServer(stand_in.app()) as server:
        yield server.url + "/v1"
