"""Keeps credentials out of the metadata the ``messages`` and ``events`` modes send.

LangGraph copies string values of ``configurable`` into the run metadata, so a key passed in
``configurable`` (``custom_api_key``, ``x-api-token`` ...) would be echoed to every client of the
stream. ``langgraph dev`` does echo it; the reference server masks it (a deliberate difference).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

REDACTED = "[redacted]"
_SECRET_NAME_PARTS = ("api_key", "apikey", "secret", "password", "authorization", "credential")


# Metadata keys repeat on every event of every run: decide each name once.
@lru_cache(maxsize=4096)
def is_secret_name(name: str) -> bool:
    lowered = name.lower().replace("-", "_")
    # "token" only as the last word: ``access_token`` is a secret, ``ls_max_tokens`` is not.
    return lowered.endswith("token") or any(part in lowered for part in _SECRET_NAME_PARTS)


def redact_metadata(metadata: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``metadata`` with the value of every key that names a credential masked."""
    return {
        key: REDACTED if is_secret_name(key) and value is not None else value
        for key, value in metadata.items()
    }
