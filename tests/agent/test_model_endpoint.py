"""Where the scenario graphs' model lives: per run, else the environment, else a local vLLM."""

from __future__ import annotations

import pytest

from agent.model_endpoint import (
    DEFAULT_MODEL_NAME,
    DEFAULT_TIMEOUT_SECONDS,
    PLACEHOLDER_API_KEY,
    resolve_api_key,
    resolve_model_name,
    resolve_timeout_seconds,
    scenario_chat_model,
)


def test_model_name_from_the_run_then_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LLM_MODEL", raising=False)
    assert resolve_model_name({}) == DEFAULT_MODEL_NAME
    monkeypatch.setenv("LLM_MODEL", "served-by-vllm")
    assert resolve_model_name({}) == "served-by-vllm"
    assert resolve_model_name({"model_name": "per-run"}) == "per-run"
    with pytest.raises(TypeError, match=r"configurable\.model_name"):
        resolve_model_name({"model_name": ["a"]})


def test_api_key_from_the_run_then_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LLM_API_KEY", raising=False)
    assert resolve_api_key({}) == PLACEHOLDER_API_KEY
    monkeypatch.setenv("LLM_API_KEY", "from-env")
    assert resolve_api_key({}) == "from-env"
    assert resolve_api_key({"custom_api_key": "per-run"}) == "per-run"
    with pytest.raises(TypeError, match=r"configurable\.custom_api_key"):
        resolve_api_key({"custom_api_key": 42})
    model = scenario_chat_model({"base_url": "http://127.0.0.1:9/v1", "custom_api_key": "k1"})
    assert model.openai_api_key is not None
    assert model.openai_api_key.get_secret_value() == "k1"


def test_timeout_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LLM_TIMEOUT_SECONDS", raising=False)
    assert resolve_timeout_seconds() == DEFAULT_TIMEOUT_SECONDS
    monkeypatch.setenv("LLM_TIMEOUT_SECONDS", "2.5")
    assert resolve_timeout_seconds() == 2.5
    for bad in ("soon", "0", "-1"):
        monkeypatch.setenv("LLM_TIMEOUT_SECONDS", bad)
        with pytest.raises(ValueError, match="LLM_TIMEOUT_SECONDS"):
            resolve_timeout_seconds()


def test_scenario_model_is_deterministic_and_fails_fast(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LLM_API_KEY", raising=False)
    monkeypatch.delenv("LLM_TIMEOUT_SECONDS", raising=False)

    model = scenario_chat_model({"base_url": "http://127.0.0.1:9/v1"})

    assert model.temperature == 0
    assert model.max_retries == 0
    assert model.request_timeout == DEFAULT_TIMEOUT_SECONDS
    assert model.openai_api_base == "http://127.0.0.1:9/v1"


def test_runs_naming_the_same_endpoint_share_one_model_and_others_get_their_own() -> None:
    first = scenario_chat_model({"base_url": "http://127.0.0.1:9/v1", "model_name": "m"})
    again = scenario_chat_model({"base_url": "http://127.0.0.1:9/v1", "model_name": "m"})
    other_url = scenario_chat_model({"base_url": "http://127.0.0.1:10/v1", "model_name": "m"})
    other_key = scenario_chat_model(
        {"base_url": "http://127.0.0.1:9/v1", "model_name": "m", "custom_api_key": "k2"}
    )
    assert again is first
    assert other_url is not first and other_url.openai_api_base == "http://127.0.0.1:10/v1"
    assert other_key is not first and other_key.openai_api_key is not None
    assert other_key.openai_api_key.get_secret_value() == "k2"
