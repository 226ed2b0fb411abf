"""The app factory granian's worker process calls: settings come from the environment."""

from __future__ import annotations

import gc
import os

from quart import Quart

from reference_server.app import create_app
from reference_server.settings import SETTINGS_ENVIRONMENT_VARIABLE, settings_from_json


def create_app_from_environment() -> Quart:
    text = os.environ.get(SETTINGS_ENVIRONMENT_VARIABLE)
    if not text:
        raise RuntimeError(
            f"{SETTINGS_ENVIRONMENT_VARIABLE} is not set: start the server with reference-server"
        )
    app = create_app(settings_from_json(text))
    # What is loaded by now (modules, graphs, the app) lives as long as the worker: keep it out
    # of the collector's reach, so that the collections runs trigger scan only what runs
    # allocate (scanning it cost about a sixth of the CPU under load, docs/benchmarks.md).
    gc.freeze()
    return app
