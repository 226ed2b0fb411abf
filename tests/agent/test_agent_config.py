"""AgentConfig: the Open Agent Platform form metadata, reading the merged configurable, keys."""

from __future__ import annotations

from typing import Any

import pytest

from agent.config import (
    AUTHENTICATION_INSTRUCTION,
    DEFAULT_SYSTEM_PROMPT,
    AgentConfig,
    MCPConfig,
    RagConfig,
    provider_api_key,
    supabase_token,
)
from agent.graph import chat_model, graph

EXPECTED_FIELDS = {
    "model_name": "select",
    "temperature": "slider",
    "max_tokens": "number",
    "system_prompt": "textarea",
    "base_url": "text",
    "custom_model_name": "text",
    "custom_api_key": "text",
    "mcp_config": "mcp",
    "rag": "rag",
}


def _ui_configs(schema: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: spec["x_oap_ui_config"] for name, spec in schema["properties"].items()}


def test_every_field_carries_its_oap_ui_config() -> None:
    ui = _ui_configs(AgentConfig.model_json_schema())

    assert {name: config["type"] for name, config in ui.items()} == EXPECTED_FIELDS
    for name, config in ui.items():
        assert config["description"], name
    assert ui["temperature"] == {
        "type": "slider",
        "description": ui["temperature"]["description"],
        "default": 0.7,
        "min": 0,
        "max": 2,
        "step": 0.1,
    }
    assert ui["max_tokens"]["min"] == 1
    assert ui["max_tokens"]["max"] == 65536
    assert ui["max_tokens"]["default"] == 4000
    assert ui["system_prompt"]["default"] == DEFAULT_SYSTEM_PROMPT
    assert {"label": "gpt-4o-mini", "value": "gpt-4o-mini"} in ui["model_name"]["options"]
    assert ui["model_name"]["default"] == "gpt-4o-mini"
    assert ui["mcp_config"]["default"] == {"url": None, "tools": [], "auth_required": False}
    assert ui["rag"]["default"] == {"rag_url": None, "collections": []}


async def test_the_agent_exposes_the_fields_as_its_config_schema() -> None:
    agent = await graph({"configurable": {}})

    context_schema = agent.get_context_jsonschema()
    assert context_schema is not None
    assert {name: c["type"] for name, c in _ui_configs(context_schema).items()} == EXPECTED_FIELDS
    # What servers derive the assistant's config_schema from: the ``configurable`` field.
    with pytest.warns(DeprecationWarning):
        config_model = agent.config_schema()
    configurable_type = config_model.model_fields["configurable"].annotation
    assert AgentConfig in getattr(configurable_type, "__args__", (configurable_type,))


def test_reads_known_fields_of_the_merged_configurable_and_ignores_the_rest() -> None:
    merged = {
        "thread_id": "t-1",
        "x-request-id": "r-1",
        "model_name": "gpt-4o",
        "temperature": 0.2,
        "system_prompt": None,  # an empty form field: the default applies
        "mcp_config": {"url": "http://mcp.test", "tools": ["add"], "auth_required": True},
        "rag": {"rag_url": "http://rag.test", "collections": ["c1"]},
    }

    config = AgentConfig.from_configurable(merged)

    assert config.model_name == "gpt-4o"
    assert config.temperature == 0.2
    assert config.system_prompt == DEFAULT_SYSTEM_PROMPT
    assert config.mcp_config == MCPConfig(url="http://mcp.test", tools=["add"], auth_required=True)
    assert config.rag == RagConfig(rag_url="http://rag.test", collections=["c1"])


@pytest.mark.parametrize(
    ("configurable", "named"),
    [
        ({"temperature": 5}, "temperature"),
        ({"max_tokens": 0}, "max_tokens"),
        ({"mcp_config": {"url": "http://x", "tool": ["typo"]}}, "mcp_config.tool"),
        ({"rag": {"collections": "c1"}}, "rag.collections"),
    ],
)
def test_bad_values_raise_an_error_naming_the_field(
    configurable: dict[str, Any], named: str
) -> None:
    with pytest.raises(ValueError, match="invalid agent configuration") as raised:
        AgentConfig.from_configurable(configurable)
    assert named in str(raised.value)


def test_custom_model_name_wins_and_instruction_is_always_appended() -> None:
    config = AgentConfig.from_configurable(
        {"model_name": "gpt-4o", "custom_model_name": "my-vllm-model", "system_prompt": "Be brief."}
    )

    assert config.effective_model_name == "my-vllm-model"
    assert config.full_system_prompt == f"Be brief.\n\n{AUTHENTICATION_INSTRUCTION}"
    assert AgentConfig().full_system_prompt.endswith(AUTHENTICATION_INSTRUCTION)


def test_provider_key_prefers_custom_api_key_then_api_keys() -> None:
    with_both = {"custom_api_key": "sk-custom", "apiKeys": {"OPENAI_API_KEY": "sk-provider"}}
    assert provider_api_key(AgentConfig.from_configurable(with_both), with_both) == "sk-custom"
    only_provider = {"apiKeys": {"OPENAI_API_KEY": "sk-provider"}}
    assert (
        provider_api_key(AgentConfig.from_configurable(only_provider), only_provider)
        == "sk-provider"
    )
    assert provider_api_key(AgentConfig(), {}) is None
    with pytest.raises(ValueError, match="apiKeys"):
        provider_api_key(AgentConfig(), {"apiKeys": "sk-not-an-object"})


def test_supabase_token_comes_from_the_copied_header() -> None:
    assert supabase_token({"x-supabase-access-token": "user-token"}) == "user-token"
    assert supabase_token({}) is None
    with pytest.raises(ValueError, match="x-supabase-access-token"):
        supabase_token({"x-supabase-access-token": 12})


def test_chat_model_follows_the_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LLM_BASE_URL", raising=False)
    configurable = {
        "custom_model_name": "served-model",
        "temperature": 0.3,
        "max_tokens": 123,
        "base_url": "http://127.0.0.1:9/v1",
        "apiKeys": {"OPENAI_API_KEY": "sk-provider"},
    }

    model = chat_model(AgentConfig.from_configurable(configurable), configurable)

    assert model.model_name == "served-model"
    assert model.temperature == 0.3
    assert model.max_tokens == 123
    assert model.openai_api_base == "http://127.0.0.1:9/v1"
    assert model.openai_api_key is not None
    assert model.openai_api_key.get_secret_value() == "sk-provider"
    # The key must not travel in the tracing parameters that end up in stream metadata.
    assert "sk-provider" not in repr(model._get_ls_params())


def test_chat_model_defaults_to_the_environment_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLM_BASE_URL", "http://127.0.0.1:8/v1")

    model = chat_model(AgentConfig(), {})

    assert model.openai_api_base == "http://127.0.0.1:8/v1"
