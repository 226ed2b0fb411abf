"""Keep the secrets of ``configurable`` out of everything the agent's runs emit.

Some servers (``langgraph dev`` among them) copy the string values of ``configurable`` into the
run's metadata, and several stream modes send that metadata to the client (``messages/metadata``,
``debug`` tasks, ``events``): the user's API key would be echoed back. The agent has read what it
needs from ``configurable`` when the factory built it, so its runs start from a config with the
secrets removed from ``configurable`` and ``metadata``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager, suppress
from typing import Any

from langchain_core.callbacks import BaseCallbackManager
from langchain_core.runnables import RunnableConfig
from langchain_core.runnables.config import var_child_runnable_config
from langgraph.graph.state import CompiledStateGraph

REDACTED = "[redacted]"
_SECRET_NAME_PARTS = ("api_key", "apikey", "token", "secret", "password", "authorization")


def is_secret_key(name: str) -> bool:
    """Whether a metadata or configurable key names a credential."""
    lowered = name.lower().replace("-", "_")
    return any(part in lowered for part in _SECRET_NAME_PARTS)


def _without_secrets(values: dict[str, Any]) -> dict[str, Any]:
    # Keys with a "__" prefix are langgraph's own plumbing (checkpointer, store, runtime).
    return {
        key: value
        for key, value in values.items()
        if key.startswith("__") or not is_secret_key(key)
    }


def scrubbed_config(config: RunnableConfig | None) -> RunnableConfig | None:
    """``config`` without secret ``configurable`` or ``metadata`` entries.

    Metadata a callback manager already inherited (the agent run inside another graph) cannot be
    removed, only overridden, so those values are masked instead.
    """
    if config is None:
        return None
    scrubbed: RunnableConfig = {**config}
    if "configurable" in config:
        scrubbed["configurable"] = _without_secrets(config["configurable"] or {})
    metadata = _without_secrets(dict(config.get("metadata") or {}))
    callbacks = config.get("callbacks")
    if isinstance(callbacks, BaseCallbackManager):
        inherited = [key for key in callbacks.inheritable_metadata if is_secret_key(key)]
        metadata.update(dict.fromkeys(inherited, REDACTED))
    if "metadata" in config or metadata:
        scrubbed["metadata"] = metadata
    return scrubbed


@contextmanager
def _scrubbed_ambient_config() -> Iterator[None]:
    """Scrub the ambient config too: langgraph merges it under the explicit one.

    A server may set the run's full config as the ambient one while it serves the graph
    (``langgraph dev`` does), and that metadata would otherwise flow back into the run.
    """
    ambient = var_child_runnable_config.get()
    if ambient is None:
        yield
        return
    reset_token = var_child_runnable_config.set(scrubbed_config(ambient))
    try:
        yield
    finally:
        # Finalised from another context (an abandoned stream collected later): the context
        # this token belongs to is gone, so there is nothing left to restore.
        with suppress(ValueError):
            var_child_runnable_config.reset(reset_token)


class SecretScrubbingGraph(CompiledStateGraph[Any, Any, Any, Any]):
    """A compiled graph whose every run starts from a ``scrubbed_config``.

    ``invoke``/``ainvoke`` go through ``stream``/``astream`` and ``astream_events`` through
    ``astream``, so these two entry points cover every way of running it.
    """

    def stream(
        self, input: Any, config: RunnableConfig | None = None, **kwargs: Any
    ) -> Iterator[Any]:
        with _scrubbed_ambient_config():
            yield from super().stream(input, scrubbed_config(config), **kwargs)

    async def astream(
        self, input: Any, config: RunnableConfig | None = None, **kwargs: Any
    ) -> AsyncIterator[Any]:
        with _scrubbed_ambient_config():
            async for part in super().astream(input, scrubbed_config(config), **kwargs):
                yield part


def scrub_secrets(graph: CompiledStateGraph[Any, Any, Any, Any]) -> SecretScrubbingGraph:
    """The same compiled graph (same nodes, channels, checkpointer) as a ``SecretScrubbingGraph``."""
    attributes = {key: value for key, value in graph.__dict__.items() if key != "__orig_class__"}
    return SecretScrubbingGraph(**attributes)
