"""The app factory granian's worker calls."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path

import pytest

from reference_server.asgi import create_app_from_environment
from reference_server.settings import SETTINGS_ENVIRONMENT_VARIABLE, Settings, settings_to_json

CONFIG_PATH = Path(__file__).resolve().parents[2] / "langgraph.json"


@pytest.fixture
def unfrozen() -> Iterator[None]:
    gc.unfreeze()
    yield
    gc.unfreeze()


def test_the_worker_keeps_what_it_loaded_out_of_the_collectors_reach(
    unfrozen: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings(config_path=CONFIG_PATH, database_path=None)
    monkeypatch.setenv(SETTINGS_ENVIRONMENT_VARIABLE, settings_to_json(settings))
    assert gc.get_freeze_count() == 0
    app = create_app_from_environment()
    assert app.name == "reference_server"
    # The graphs, the app and every module imported are frozen: a collection skips them.
    assert gc.get_freeze_count() > 10_000


def test_the_worker_refuses_to_start_without_its_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(SETTINGS_ENVIRONMENT_VARIABLE, raising=False)
    with pytest.raises(RuntimeError, match="start the server with reference-server"):
        create_app_from_environment()
