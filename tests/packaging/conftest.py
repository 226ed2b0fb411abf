"""The distribution as a user gets it: a wheel built from this checkout, installed in fresh
virtual environments (pip reaches the package registry, as CI does). Session-scoped: one
build for every test here."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from distribution import PROJECT_ROOT, clean_environment, run


@pytest.fixture(scope="session")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The wheel of this checkout, built as pip builds it (hatchling, isolated)."""
    output = tmp_path_factory.mktemp("dist")
    run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(output),
         str(PROJECT_ROOT)],
        env=clean_environment(),
    )  # fmt: skip
    (built,) = output.glob("langgraph_stream_conformance-*.whl")
    yield built
