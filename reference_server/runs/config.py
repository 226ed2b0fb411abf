"""The RunnableConfig a run executes with, merged as ``langgraph dev`` merges it.

``configurable``: assistant < thread < run, then the request's ``x-*`` headers (never
``authorization``, ``x-api-key``, ``x-tenant-id``, ``x-service-key``; not the user agent, which
recordings of ``langgraph dev`` never show in a run's config), then the auth
fields and the ids (``run_id``, ``thread_id``, ``graph_id``, ``assistant_id``, ``user_id``).
``metadata``: the run's metadata, then the ids and versions upstream adds. The key order follows
upstream's, so payloads that echo the config (checkpoints, debug) read the same.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from importlib import metadata as package_metadata
from typing import Any

from langchain_core.runnables import RunnableConfig

from reference_server.storage.base import Record

# The ``langgraph dev`` release whose wire format this server reproduces; upstream reports its
# own version in run metadata, and clients comparing payloads expect the same keys.
MIRRORED_API_VERSION = "0.16.7"
_EXCLUDED_HEADERS = frozenset({"x-api-key", "x-tenant-id", "x-service-key"})
_CONFIG_KEYS_PASSED = ("tags", "recursion_limit", "max_concurrency")


def _langgraph_version() -> str:
    try:
        return package_metadata.version("langgraph")
    except package_metadata.PackageNotFoundError:
        return "unknown"


LANGGRAPH_VERSION = _langgraph_version()


def forwarded_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """The request headers a run sees in ``configurable``."""
    forwarded: dict[str, str] = {}
    for name, value in headers.items():
        lowered = name.lower()
        if lowered.startswith("x-") and lowered not in _EXCLUDED_HEADERS:
            forwarded[lowered] = value
    return forwarded


def _configurable(config: Any) -> dict[str, Any]:
    if isinstance(config, Mapping):
        configurable = config.get("configurable")
        if isinstance(configurable, Mapping):
            return dict(configurable)
    return {}


def run_metadata(assistant: Record, request_metadata: Mapping[str, Any] | None) -> dict[str, Any]:
    """The ``metadata`` of a run record: the assistant's, the request's, then the ids."""
    return {
        **(assistant.get("metadata") or {}),
        **(request_metadata or {}),
        "graph_id": assistant["graph_id"],
        "assistant_id": str(assistant["assistant_id"]),
    }


def build_run_config(
    *,
    run_id: str,
    thread_id: str,
    assistant: Record,
    thread: Record | None,
    request_config: Mapping[str, Any] | None,
    metadata: Mapping[str, Any],
    headers: Mapping[str, str],
    user_id: str | None,
    api_url: str,
    checkpoint: Mapping[str, Any] | None = None,
    request_id: str | None = None,
    request_start_ms: int | None = None,
    after_seconds: float = 0,
) -> RunnableConfig:
    configurable: dict[str, Any] = {
        **_configurable(assistant.get("config")),
        **_configurable(thread.get("config") if thread else None),
        **_configurable(request_config),
        **forwarded_headers(headers),
        "langgraph_auth_user": None,
        "langgraph_auth_user_id": user_id or "",
        "langgraph_auth_permissions": [],
        "langgraph_request_id": request_id or str(uuid.uuid4()),
        "__request_start_time_ms__": request_start_ms
        if request_start_ms is not None
        else int(time.time() * 1000),
        "__after_seconds__": int(after_seconds)
        if float(after_seconds).is_integer()
        else after_seconds,
        "run_id": run_id,
        "thread_id": thread_id,
        "graph_id": assistant["graph_id"],
        "assistant_id": str(assistant["assistant_id"]),
        "user_id": user_id or "",
    }
    for key, value in (checkpoint or {}).items():
        if value is not None and key != "thread_id":
            configurable[key] = value
    config_metadata = {
        **metadata,
        "run_attempt": 1,
        "langgraph_version": LANGGRAPH_VERSION,
        "langgraph_api_version": MIRRORED_API_VERSION,
        "langgraph_plan": "enterprise",
        "langgraph_host": "self-hosted",
        "langgraph_api_url": api_url,
    }
    config = RunnableConfig(
        configurable=configurable, metadata=config_metadata, run_id=uuid.UUID(run_id)
    )
    assistant_config = assistant.get("config") or {}
    for key in _CONFIG_KEYS_PASSED:
        value = (request_config or {}).get(key, assistant_config.get(key))
        if value is not None:
            config[key] = value  # type: ignore[literal-required]
    return config
