"""Where the chat model lives for one run: base URL, model name and key, read per run.

The run's ``configurable`` names them as the tools agent does (``base_url``, ``model_name``,
``custom_api_key``); ``conformance check --llm-url/--llm-model/--llm-api-key`` sends them.

The scenario graphs are compiled once but must reach whichever OpenAI-compatible endpoint the
run names (the fake LLM in the suite, a local vLLM otherwise), so the endpoint is resolved from
the run's ``configurable`` every time the model is called, never at import time.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from langchain_openai import ChatOpenAI
from pydantic import SecretStr

DEFAULT_BASE_URL = "http://localhost:7374/v1"
DEFAULT_MODEL_NAME = "gpt-4o-mini"
# vLLM and the fake LLM ignore the key, but the openai client refuses to start without one;
# a fixed placeholder also keeps any real key in the environment out of the picture.
PLACEHOLDER_API_KEY = "EMPTY"
# A hung endpoint (the fake LLM's ``fault:hang``) must end the run in bounded time.
DEFAULT_TIMEOUT_SECONDS = 60.0


def resolve_base_url(configurable: Mapping[str, Any]) -> str:
    """The run's ``base_url``, else env ``LLM_BASE_URL``, else the local vLLM port."""
    value = configurable.get("base_url")
    if value is not None and not isinstance(value, str):
        raise TypeError(f"configurable.base_url must be a string, got {type(value).__name__}")
    return value or os.environ.get("LLM_BASE_URL") or DEFAULT_BASE_URL


def resolve_model_name(configurable: Mapping[str, Any]) -> str:
    """The run's ``model_name``, else env ``LLM_MODEL``, else a fixed default."""
    value = configurable.get("model_name")
    if value is not None and not isinstance(value, str):
        raise TypeError(f"configurable.model_name must be a string, got {type(value).__name__}")
    return value or os.environ.get("LLM_MODEL") or DEFAULT_MODEL_NAME


def resolve_api_key(configurable: Mapping[str, Any]) -> str:
    """The run's ``custom_api_key`` (as the tools agent names it), else env ``LLM_API_KEY``,
    else a placeholder."""
    value = configurable.get("custom_api_key")
    if value is not None and not isinstance(value, str):
        raise TypeError(f"configurable.custom_api_key must be a string, got {type(value).__name__}")
    return value or os.environ.get("LLM_API_KEY") or PLACEHOLDER_API_KEY


def resolve_timeout_seconds() -> float:
    """Env ``LLM_TIMEOUT_SECONDS``, else 60 s."""
    raw = os.environ.get("LLM_TIMEOUT_SECONDS")
    if not raw:
        return DEFAULT_TIMEOUT_SECONDS
    try:
        seconds = float(raw)
    except ValueError:
        raise ValueError(f"LLM_TIMEOUT_SECONDS must be a number of seconds, got {raw!r}") from None
    if seconds <= 0:
        raise ValueError(f"LLM_TIMEOUT_SECONDS must be positive, got {raw!r}")
    return seconds


def scenario_chat_model(configurable: Mapping[str, Any]) -> ChatOpenAI:
    """The ``ChatOpenAI`` a scenario graph uses for this run (temperature 0, no retries).

    Retries are off so that an LLM failure reaches the stream at once, as the fault scenarios
    expect, instead of being hidden behind the openai client's backoff. Runs naming the same
    endpoint share one model and so one connection pool.
    """
    return _chat_model(
        resolve_model_name(configurable),
        resolve_base_url(configurable),
        resolve_api_key(configurable),
        resolve_timeout_seconds(),
    )


# Building a ChatOpenAI (and its openai clients) costs more than a short model call: once per
# endpoint, not once per call. The model holds no per-run state.
@lru_cache(maxsize=64)
def _chat_model(model: str, base_url: str, api_key: str, timeout_seconds: float) -> ChatOpenAI:
    return ChatOpenAI(
        model=model,
        base_url=base_url,
        api_key=SecretStr(api_key),
        temperature=0,
        max_retries=0,
        timeout=timeout_seconds,
    )
