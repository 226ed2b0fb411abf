"""The tools agent: a ReAct agent around ``ChatOpenAI`` with MCP and RAG tools from its config.

``graph`` is the factory ``langgraph.json`` names. The server calls it with the run's
RunnableConfig, whose ``configurable`` already merges assistant < thread < run, and serves the
agent it returns. ``AgentConfig`` is the agent's context schema, which is what makes the
assistant's ``config_schema`` list the configurable fields with their ``x_oap_ui_config``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from langchain.agents import create_agent
from langchain_core.runnables import RunnableConfig
from langchain_core.tools import BaseTool
from langchain_openai import ChatOpenAI
from langgraph.config import get_store
from langgraph.store.base import BaseStore
from pydantic import SecretStr

from agent.config import AgentConfig, provider_api_key, supabase_token
from agent.model_endpoint import PLACEHOLDER_API_KEY, resolve_base_url, resolve_timeout_seconds
from agent.secret_redaction import SecretScrubbingGraph, scrub_secrets
from agent.tools.mcp import mcp_tools
from agent.tools.rag import rag_tools

AGENT_NAME = "agent"
_OWNER_KEYS = ("langgraph_auth_user_id", "user_id")
# Where servers hand a factory their store: langgraph's runtime object, or the older store key.
_RUNTIME_KEY = "__pregel_runtime"
_STORE_KEY = "__pregel_store"


def chat_model(agent_config: AgentConfig, configurable: Mapping[str, Any]) -> ChatOpenAI:
    """The model the agent calls, configured from ``agent_config`` and the run's keys."""
    return ChatOpenAI(
        model=agent_config.effective_model_name,
        base_url=resolve_base_url({"base_url": agent_config.base_url}),
        api_key=SecretStr(
            provider_api_key(agent_config, configurable)
            or os.environ.get("LLM_API_KEY")
            or PLACEHOLDER_API_KEY
        ),
        temperature=agent_config.temperature,
        max_completion_tokens=agent_config.max_tokens,
        max_retries=0,
        timeout=resolve_timeout_seconds(),
    )


def _store(config: RunnableConfig) -> BaseStore | None:
    configurable = config.get("configurable") or {}
    for candidate in (
        getattr(configurable.get(_RUNTIME_KEY), "store", None),
        configurable.get(_STORE_KEY),
    ):
        if isinstance(candidate, BaseStore):
            return candidate
    try:
        return get_store()
    except RuntimeError:
        # Called outside a run (e.g. to draw the graph or read its schemas): nothing to cache in.
        return None


def _owner(configurable: Mapping[str, Any]) -> str | None:
    for key in _OWNER_KEYS:
        value = configurable.get(key)
        if isinstance(value, str) and value:
            return value
    return None


async def configured_tools(config: RunnableConfig, agent_config: AgentConfig) -> list[BaseTool]:
    """The MCP and RAG tools ``agent_config`` asks for, authenticated as the run's user."""
    configurable = config.get("configurable") or {}
    user_token = supabase_token(configurable)
    return [
        *await mcp_tools(
            agent_config.mcp_config,
            subject_token=user_token,
            store=_store(config),
            owner=_owner(configurable),
        ),
        *await rag_tools(agent_config.rag, access_token=user_token),
    ]


async def graph(config: RunnableConfig) -> SecretScrubbingGraph:
    """Build the tools agent for one run from its merged ``configurable``.

    Everything secret is consumed here (model key, user token, MCP token), so the returned graph
    runs without the secrets of its config and cannot echo them.
    """
    configurable = config.get("configurable") or {}
    agent_config = AgentConfig.from_configurable(configurable)
    agent = create_agent(
        chat_model(agent_config, configurable),
        tools=await configured_tools(config, agent_config),
        system_prompt=agent_config.full_system_prompt,
        context_schema=AgentConfig,
        name=AGENT_NAME,
    )
    return scrub_secrets(agent)
