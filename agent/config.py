"""The tools agent's configuration: what an assistant, thread or run may set in ``configurable``.

Each field carries ``x_oap_ui_config`` metadata in its JSON schema so that Open Agent Platform
renders a form for it from the assistant's ``config_schema``. The server merges assistant <
thread < run into ``configurable`` before the agent sees it; ``AgentConfig.from_configurable``
reads the known fields from that merged mapping and ignores the rest (ids, copied headers).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agent.model_endpoint import DEFAULT_BASE_URL, DEFAULT_MODEL_NAME

DEFAULT_SYSTEM_PROMPT = "You are a helpful assistant that uses its tools to answer accurately."
# Always appended, whatever the configured prompt says: without it the model tends to apologise
# instead of handing the user the sign-in link a tool returned.
AUTHENTICATION_INSTRUCTION = (
    "If a tool fails because authentication is required, give the user the link the tool "
    "returned so that they can authenticate, then ask them to try again."
)
SUPABASE_TOKEN_KEY = "x-supabase-access-token"
API_KEYS_KEY = "apiKeys"
OPENAI_API_KEY_NAME = "OPENAI_API_KEY"
MODEL_OPTIONS = ("gpt-4o-mini", "gpt-4o", "gpt-4.1-mini", "gpt-4.1")


def _ui(type_: str, description: str, default: Any = None, **extra: Any) -> dict[str, Any]:
    """``json_schema_extra`` carrying the Open Agent Platform form metadata of one field."""
    config: dict[str, Any] = {"type": type_, "description": description}
    if default is not None:
        config["default"] = default
    config.update(extra)
    return {"x_oap_ui_config": config}


class MCPConfig(BaseModel):
    """Which MCP server to use (``{url}/mcp``) and which of its tools to expose."""

    model_config = ConfigDict(extra="forbid")

    url: str | None = Field(default=None, description="Base URL of the MCP server.")
    tools: list[str] = Field(default_factory=list, description="Names of the tools to expose.")
    auth_required: bool = Field(
        default=False, description="Exchange the user's token for an MCP access token."
    )


class RagConfig(BaseModel):
    """Which RAG server to search and which of its collections to offer as tools."""

    model_config = ConfigDict(extra="forbid")

    rag_url: str | None = Field(default=None, description="Base URL of the RAG server.")
    collections: list[str] = Field(default_factory=list, description="Collection ids.")


class AgentConfig(BaseModel):
    """Everything the tools agent reads from ``configurable``."""

    model_config = ConfigDict(extra="ignore")

    model_name: str = Field(
        default=DEFAULT_MODEL_NAME,
        description="Model to call at the OpenAI-compatible endpoint.",
        json_schema_extra=_ui(
            "select",
            "The model to use in all generations.",
            DEFAULT_MODEL_NAME,
            options=[{"label": name, "value": name} for name in MODEL_OPTIONS],
        ),
    )
    temperature: float = Field(
        default=0.7,
        ge=0.0,
        le=2.0,
        json_schema_extra=_ui(
            "slider",
            "Controls randomness (0 = deterministic, 2 = creative).",
            0.7,
            min=0,
            max=2,
            step=0.1,
        ),
    )
    max_tokens: int = Field(
        default=4000,
        ge=1,
        le=65536,
        json_schema_extra=_ui(
            "number", "The maximum number of tokens to generate.", 4000, min=1, max=65536
        ),
    )
    system_prompt: str = Field(
        default=DEFAULT_SYSTEM_PROMPT,
        json_schema_extra=_ui(
            "textarea",
            "The system prompt to use in all generations. An instruction to pass on "
            "authentication links is always appended.",
            DEFAULT_SYSTEM_PROMPT,
            placeholder="Enter a system prompt...",
        ),
    )
    base_url: str | None = Field(
        default=None,
        json_schema_extra=_ui(
            "text",
            "OpenAI-compatible endpoint. Defaults to the LLM_BASE_URL environment variable, "
            f"else {DEFAULT_BASE_URL} (a local vLLM).",
            placeholder=DEFAULT_BASE_URL,
        ),
    )
    custom_model_name: str | None = Field(
        default=None,
        json_schema_extra=_ui(
            "text", "A model name not in the list; overrides model_name when set."
        ),
    )
    custom_api_key: str | None = Field(
        default=None,
        json_schema_extra=_ui(
            "text", "API key for the endpoint; never echoed in run metadata or streams."
        ),
    )
    mcp_config: MCPConfig | None = Field(
        default=None,
        json_schema_extra=_ui(
            "mcp",
            "MCP server and the tools to expose from it.",
            {"url": None, "tools": [], "auth_required": False},
        ),
    )
    rag: RagConfig | None = Field(
        default=None,
        json_schema_extra=_ui(
            "rag",
            "RAG server and the collections to search.",
            {"rag_url": None, "collections": []},
        ),
    )

    @classmethod
    def from_configurable(cls, configurable: Mapping[str, Any]) -> AgentConfig:
        """Validate the merged ``configurable``; a bad field raises ``ValueError`` naming it."""
        known = {name: configurable[name] for name in cls.model_fields if name in configurable}
        # An unset form field arrives as None; treat it as "use the default".
        present = {name: value for name, value in known.items() if value is not None}
        try:
            return cls.model_validate(present)
        except ValidationError as error:
            problems = "; ".join(
                f"{'.'.join(str(part) for part in issue['loc'])}: {issue['msg']}"
                for issue in error.errors()
            )
            raise ValueError(f"invalid agent configuration: {problems}") from None

    @property
    def effective_model_name(self) -> str:
        return self.custom_model_name or self.model_name

    @property
    def full_system_prompt(self) -> str:
        return f"{self.system_prompt.rstrip()}\n\n{AUTHENTICATION_INSTRUCTION}"


def provider_api_key(agent_config: AgentConfig, configurable: Mapping[str, Any]) -> str | None:
    """The key for the model endpoint: ``custom_api_key``, else ``apiKeys.OPENAI_API_KEY``."""
    if agent_config.custom_api_key:
        return agent_config.custom_api_key
    api_keys = configurable.get(API_KEYS_KEY)
    if api_keys is None:
        return None
    if not isinstance(api_keys, Mapping):
        raise ValueError(f"configurable.{API_KEYS_KEY} must be an object of provider keys")
    key = api_keys.get(OPENAI_API_KEY_NAME)
    if key is not None and not isinstance(key, str):
        raise ValueError(f"configurable.{API_KEYS_KEY}.{OPENAI_API_KEY_NAME} must be a string")
    return key or None


def supabase_token(configurable: Mapping[str, Any]) -> str | None:
    """The user's Supabase access token, copied by the server from the request header."""
    token = configurable.get(SUPABASE_TOKEN_KEY)
    if token is not None and not isinstance(token, str):
        raise ValueError(f"configurable.{SUPABASE_TOKEN_KEY} must be a string")
    return token or None
