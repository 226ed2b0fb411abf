"""A reference server started as a child process for the run tests, with the fake LLM."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

# The suite imports test modules with --import-mode=importlib, which leaves sys.path alone; the
# run tests share plain helper functions (run_helpers.py) that live next to this file.
sys.path.insert(0, str(Path(__file__).resolve().parent))

from run_helpers import start_reference_server


@pytest.fixture(scope="session")
def reference_server_url(fake_llm_url: str) -> Iterator[str]:
    """One in-memory server for the session; durability has its own tests on SQLite."""
    server = start_reference_server(None, fake_llm_url)
    try:
        yield server.url
    finally:
        server.__exit__(None, None, None)


@pytest.fixture
async def client(reference_server_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=reference_server_url, timeout=30.0) as http:
        yield http
