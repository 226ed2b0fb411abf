"""The app factory granian's worker process calls: settings come from the environment."""

from __future__ import annotations

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
    return create_app(settings_from_json(text))
