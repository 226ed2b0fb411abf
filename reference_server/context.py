"""Typed access to what the app holds for the current request.

``create_app`` keeps the storage, the graph registry, the run manager and the settings in
``app.config``; the auth hook keeps the verified user in ``g``. Routes read them through these
functions rather than through string keys.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from quart import current_app, g

from reference_server.auth import AuthenticatedUser

if TYPE_CHECKING:
    from reference_server.graphs import GraphRegistry
    from reference_server.runs.manager import RunManager
    from reference_server.settings import Settings
    from reference_server.storage.base import Storage

STORAGE_KEY = "STORAGE"
GRAPHS_KEY = "GRAPHS"
RUN_MANAGER_KEY = "RUN_MANAGER"
SETTINGS_KEY = "SETTINGS"
_USER_ATTRIBUTE = "authenticated_user"


def _app_value(key: str) -> Any:
    value = current_app.config.get(key)
    if value is None:
        raise RuntimeError(f"app.config[{key!r}] is not set: the app has not started yet")
    return value


def storage() -> Storage:
    return _app_value(STORAGE_KEY)  # type: ignore[no-any-return]


def graphs() -> GraphRegistry:
    return _app_value(GRAPHS_KEY)  # type: ignore[no-any-return]


def run_manager() -> RunManager:
    return _app_value(RUN_MANAGER_KEY)  # type: ignore[no-any-return]


def settings() -> Settings:
    return _app_value(SETTINGS_KEY)  # type: ignore[no-any-return]


def set_current_user(user: AuthenticatedUser | None) -> None:
    setattr(g, _USER_ATTRIBUTE, user)


def current_user() -> AuthenticatedUser | None:
    """The verified caller, or None when auth is off."""
    return getattr(g, _USER_ATTRIBUTE, None)


def current_owner() -> str | None:
    """The owner id records are stored under and filtered by: the token's ``sub``."""
    user = current_user()
    return user.identity if user is not None else None
