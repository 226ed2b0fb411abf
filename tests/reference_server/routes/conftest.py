"""An app serving ``tiny_graphs.py`` in memory (or on SQLite), driven by Quart's test client."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from quart import Quart
from quart.typing import TestClientProtocol as Client

from reference_server.app import create_app
from reference_server.settings import Settings

TINY_GRAPHS = Path(__file__).with_name("tiny_graphs.py")


def write_config(directory: Path, graphs: dict[str, Any] | None = None) -> Path:
    config_path = directory / "langgraph.json"
    config_path.write_text(
        json.dumps(
            {
                "graphs": graphs
                or {
                    "counter": f"{TINY_GRAPHS}:counter",
                    "parent": f"{TINY_GRAPHS}:parent",
                    "factory": f"{TINY_GRAPHS}:counter_factory",
                    "slow": f"{TINY_GRAPHS}:slow",
                    "chat": f"{TINY_GRAPHS}:chat",
                }
            }
        ),
        encoding="utf-8",
    )
    return config_path


@pytest.fixture
def config_path(tmp_path: Path) -> Path:
    return write_config(tmp_path)


AppClient = Callable[..., Awaitable[Any]]


@pytest.fixture(params=["memory", "sqlite"])
async def started_app(
    request: pytest.FixtureRequest, config_path: Path, tmp_path: Path
) -> AsyncIterator[Quart]:
    """The app on each storage backend: every route test runs on both."""
    database_path = tmp_path / "state.sqlite" if request.param == "sqlite" else None
    app = create_app(Settings(config_path=config_path, database_path=database_path))
    async with app.test_app():
        yield app


@pytest.fixture
def client(started_app: Quart) -> Client:
    return started_app.test_client()
