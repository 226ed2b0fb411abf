"""Agent middleware that swaps in the model for the current run just before each call.

``create_agent`` binds tools to whatever model the request carries, so replacing the request's
model here keeps tool binding intact while the endpoint follows the run's ``configurable``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from langchain.agents.middleware import AgentMiddleware, ModelRequest, ModelResponse
from langchain_core.language_models import BaseChatModel
from langgraph.config import get_config

ModelFactory = Callable[[Mapping[str, Any]], BaseChatModel]


class PerRunModelMiddleware(AgentMiddleware):
    """Replaces the request's model with ``model_factory(configurable)`` of the current run."""

    def __init__(self, model_factory: ModelFactory) -> None:
        super().__init__()
        self._model_factory = model_factory

    def _with_run_model(self, request: ModelRequest) -> ModelRequest:
        configurable = get_config().get("configurable") or {}
        return request.override(model=self._model_factory(configurable))

    def wrap_model_call(
        self,
        request: ModelRequest,
        handler: Callable[[ModelRequest], ModelResponse],
    ) -> ModelResponse:
        return handler(self._with_run_model(request))

    async def awrap_model_call(
        self,
        request: ModelRequest,
        handler: Callable[[ModelRequest], Awaitable[ModelResponse]],
    ) -> ModelResponse:
        return await handler(self._with_run_model(request))
