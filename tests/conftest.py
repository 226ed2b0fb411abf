"""Fixtures shared by every test package."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

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


_PACKAGING = Path(__file__).resolve().parent / "packaging"


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """tests/packaging builds the wheel and installs it in fresh venvs (minutes, and the
    package registry): it runs when named (``pytest tests/packaging``, ``tox -e wheel``),
    not as part of every run of the whole suite."""
    if collection_path != _PACKAGING:
        return None
    named = (Path(arg.split("::")[0]).resolve() for arg in config.args)
    return None if any(path.is_relative_to(_PACKAGING) for path in named) else True
