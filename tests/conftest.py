"""Fixtures shared by every test package."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from conformance.fake_llm.process import start_fake_llm


@pytest.fixture(scope="session")
def fake_llm_url() -> Iterator[str]:
    """The OpenAI base url (``http://127.0.0.1:<port>/v1``) of a fake LLM started for the
    session, with no per-token delay; stopped when the session ends."""
    server = start_fake_llm()
    try:
        yield server.url + "/v1"
    finally:
        server.__exit__(None, None, None)  # stops it and closes its log
