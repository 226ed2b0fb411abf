"""The graphs a ``langgraph.json`` names, loaded the way ``langgraph dev`` loads them.

``graphs`` entries are ``./path.py:attr`` (relative to the config file) or ``module:attr``
(importable once ``dependencies`` that are local paths are on ``sys.path``), or a dict with a
``path`` key. The attribute is a compiled graph, an uncompiled ``StateGraph``, or a factory
(sync or async, taking nothing or the RunnableConfig) returning either. ``env`` is a dict or
the path of a ``.env`` file; variables already set in the process win.

Every graph handed out carries the server's checkpointer and store and is named after its
graph id, as ``langgraph dev`` does (the name shows in ``events`` and in schema titles).
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import json
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.channels.base import BaseChannel
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import StateGraph
from langgraph.pregel import Pregel
from langgraph.store.base import BaseStore
from pydantic import create_model


class GraphConfigError(ValueError):
    """The langgraph.json, or a graph it names, cannot be loaded; the message says why."""


class GraphNotFoundError(KeyError):
    """No graph has this id."""

    def __init__(self, graph_id: str, known: list[str]) -> None:
        super().__init__(graph_id)
        self.graph_id = graph_id
        self.known = known

    def __str__(self) -> str:
        return f"Graph '{self.graph_id}' not found. Expected one of: {self.known}"


@dataclass(frozen=True, slots=True)
class GraphSource:
    graph_id: str
    reference: str
    """As written in langgraph.json, e.g. ``./agent/graph.py:graph``."""
    description: str | None
    export: Any
    """The compiled graph, StateGraph or factory the reference points to."""

    @property
    def is_factory(self) -> bool:
        return callable(self.export) and not isinstance(self.export, Pregel | StateGraph)


class GraphRegistry:
    """Loads the graphs of one langgraph.json and hands out ready-to-run instances."""

    def __init__(
        self,
        config_path: Path,
        checkpointer: BaseCheckpointSaver[Any] | None = None,
        store: BaseStore | None = None,
    ) -> None:
        self.config_path = Path(config_path).resolve()
        self.checkpointer = checkpointer
        self.store = store
        self._sources: dict[str, GraphSource] = {}
        # Compiled graphs that need no factory call are prepared once and reused.
        self._static: dict[str, Pregel] = {}

    # loading ----------------------------------------------------------------------------
    def load(self) -> None:
        """Reads the config, applies ``env`` and ``dependencies``, imports every graph."""
        config = _read_config(self.config_path)
        base_directory = self.config_path.parent
        _apply_env(config.get("env"), base_directory)
        _add_dependencies(config.get("dependencies"), base_directory)
        graphs = config.get("graphs")
        if not isinstance(graphs, dict) or not graphs:
            raise GraphConfigError(f"{self.config_path}: 'graphs' must be a non-empty object")
        sources: dict[str, GraphSource] = {}
        for graph_id, entry in graphs.items():
            reference, description = _entry_reference(graph_id, entry, self.config_path)
            export = _import_reference(reference, base_directory, graph_id)
            sources[graph_id] = GraphSource(graph_id, reference, description, export)
        self._sources = sources
        self._static = {}

    def attach(self, checkpointer: BaseCheckpointSaver[Any], store: BaseStore) -> None:
        """Sets the checkpointer and store every graph handed out from now on carries."""
        self.checkpointer = checkpointer
        self.store = store
        self._static = {}

    # lookup -----------------------------------------------------------------------------
    @property
    def graph_ids(self) -> list[str]:
        return sorted(self._sources)

    def __contains__(self, graph_id: object) -> bool:
        return graph_id in self._sources

    def source(self, graph_id: str) -> GraphSource:
        try:
            return self._sources[graph_id]
        except KeyError:
            raise GraphNotFoundError(graph_id, self.graph_ids) from None

    def description(self, graph_id: str) -> str | None:
        return self.source(graph_id).description

    async def get_graph(self, graph_id: str, config: RunnableConfig | None = None) -> Pregel:
        """A graph ready to run: the export itself, or what its factory returns for ``config``
        (calling the factory every time, as a factory may build per-run tools)."""
        source = self.source(graph_id)
        if not source.is_factory:
            cached = self._static.get(graph_id)
            if cached is None:
                cached = self._prepare(graph_id, source.export)
                self._static[graph_id] = cached
            return cached
        produced = await _call_factory(source.export, config or RunnableConfig(configurable={}))
        return self._prepare(graph_id, produced)

    def _prepare(self, graph_id: str, candidate: Any) -> Pregel:
        if isinstance(candidate, StateGraph):
            candidate = candidate.compile()
        if not isinstance(candidate, Pregel):
            raise GraphConfigError(
                f"graph '{graph_id}' is a {type(candidate).__name__}, expected a compiled "
                "graph, a StateGraph or a factory returning one"
            )
        return candidate.copy(
            update={"checkpointer": self.checkpointer, "store": self.store, "name": graph_id}
        )

    # introspection ----------------------------------------------------------------------
    async def schemas(self, graph_id: str, config: RunnableConfig | None = None) -> dict[str, Any]:
        """``input_schema``, ``output_schema``, ``state_schema``, ``config_schema``,
        ``context_schema`` of a graph, shaped like ``langgraph dev``'s ``/schemas``."""
        graph = await self.get_graph(graph_id, config)
        return {"graph_id": graph_id, **graph_schemas(graph)}

    async def drawing(
        self, graph_id: str, config: RunnableConfig | None = None, xray: bool | int = False
    ) -> dict[str, Any]:
        graph = await self.get_graph(graph_id, config)
        drawn = (await graph.aget_graph(config, xray=xray)).to_json()
        # Upstream leaves out the Python class path each node's data carries.
        for node in drawn.get("nodes", []):
            data = node.get("data")
            if isinstance(data, dict):
                data.pop("id", None)
        return drawn

    async def subgraph_schemas(
        self,
        graph_id: str,
        config: RunnableConfig | None = None,
        namespace: str | None = None,
        recurse: bool = False,
    ) -> dict[str, dict[str, Any]]:
        graph = await self.get_graph(graph_id, config)
        found: dict[str, dict[str, Any]] = {}
        async for subgraph_namespace, subgraph in graph.aget_subgraphs(
            namespace=namespace, recurse=recurse
        ):
            # Remote graphs (PregelProtocol only) have no local schemas to describe.
            if isinstance(subgraph, Pregel):
                found[subgraph_namespace] = graph_schemas(subgraph)
        return found


def graph_schemas(graph: Pregel) -> dict[str, Any]:
    context_schema = graph.get_context_jsonschema()
    return {
        "input_schema": graph.get_input_jsonschema(),
        "output_schema": graph.get_output_jsonschema(),
        "state_schema": _state_jsonschema(graph),
        "config_schema": _config_jsonschema(graph, context_schema),
        "context_schema": context_schema,
    }


def _state_jsonschema(graph: Pregel) -> dict[str, Any]:
    """Every state channel, each optional with a null default, titled ``<graph>_state``, as
    upstream describes a graph's state."""
    channels = getattr(getattr(graph, "builder", None), "channels", None)
    if isinstance(channels, dict):
        fields: dict[str, Any] = {
            name: (channel.UpdateType, None)
            for name, channel in channels.items()
            if isinstance(channel, BaseChannel) and not name.startswith("branch:")
        }
        return create_model(f"{graph.name}_state", **fields).model_json_schema()
    # A graph without a StateGraph builder: its stream channels as its output describes them.
    names = graph.stream_channels_asis
    schema = graph.copy(
        update={"output_channels": [names] if isinstance(names, str) else list(names)}
    ).get_output_jsonschema()
    for property_schema in schema.get("properties", {}).values():
        if isinstance(property_schema, dict):
            property_schema.setdefault("default", None)
    schema.pop("required", None)
    schema["title"] = f"{graph.name}_state"
    return schema


def _config_jsonschema(graph: Pregel, context_schema: dict[str, Any] | None) -> dict[str, Any]:
    # The config schema is the context schema when there is one (Open Agent Platform reads its
    # fields from config_schema), otherwise the configurable fields, or {} when there are none.
    if context_schema:
        return context_schema
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        configurable = graph.get_config_jsonschema()
    return configurable if configurable.get("properties") else {}


# config parsing ---------------------------------------------------------------------------
def _read_config(config_path: Path) -> dict[str, Any]:
    try:
        text = config_path.read_text(encoding="utf-8")
    except OSError as error:
        raise GraphConfigError(f"cannot read {config_path}: {error.strerror}") from error
    try:
        config = json.loads(text)
    except json.JSONDecodeError as error:
        raise GraphConfigError(f"{config_path} is not valid JSON: {error}") from error
    if not isinstance(config, dict):
        raise GraphConfigError(f"{config_path} must hold a JSON object")
    return config


def _entry_reference(graph_id: str, entry: Any, config_path: Path) -> tuple[str, str | None]:
    if isinstance(entry, str):
        return entry, None
    if isinstance(entry, dict) and isinstance(entry.get("path"), str):
        description = entry.get("description")
        return entry["path"], description if isinstance(description, str) else None
    raise GraphConfigError(
        f"{config_path}: graphs.{graph_id} must be 'path.py:attr', 'module:attr' or an object "
        "with a 'path'"
    )


def _apply_env(env: Any, base_directory: Path) -> None:
    if env is None:
        return
    if isinstance(env, str):
        variables = parse_env_file(base_directory / env)
    elif isinstance(env, dict):
        variables = {str(key): str(value) for key, value in env.items()}
    else:
        raise GraphConfigError("'env' must be an object or the path of a .env file")
    for name, value in variables.items():
        os.environ.setdefault(name, value)


def parse_env_file(path: Path) -> dict[str, str]:
    """``KEY=VALUE`` lines; ``#`` comments, ``export`` prefixes and quotes as dotenv allows."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise GraphConfigError(f"cannot read env file {path}: {error.strerror}") from error
    variables: dict[str, str] = {}
    for line in lines:
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        stripped = stripped.removeprefix("export ").strip()
        name, separator, value = stripped.partition("=")
        if not separator or not name.strip():
            continue
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        elif " #" in value:
            value = value.split(" #", 1)[0].rstrip()
        variables[name.strip()] = value
    return variables


def _add_dependencies(dependencies: Any, base_directory: Path) -> None:
    if dependencies is None:
        return
    if not isinstance(dependencies, list):
        raise GraphConfigError("'dependencies' must be a list")
    for dependency in dependencies:
        # Only local paths matter at run time; package names were installed beforehand.
        if isinstance(dependency, str) and dependency.startswith((".", "/")):
            directory = str((base_directory / dependency).resolve())
            if directory not in sys.path:
                sys.path.insert(0, directory)


def _import_reference(reference: str, base_directory: Path, graph_id: str) -> Any:
    location, separator, attribute = reference.rpartition(":")
    if not separator or not location or not attribute:
        raise GraphConfigError(
            f"graph '{graph_id}': '{reference}' must look like 'path.py:attr' or 'module:attr'"
        )
    if location.endswith(".py") or "/" in location or os.sep in location:
        module = _import_file(base_directory / location, graph_id)
    else:
        try:
            module = importlib.import_module(location)
        except ImportError as error:
            raise GraphConfigError(
                f"graph '{graph_id}': cannot import module '{location}': {error}"
            ) from error
    try:
        return getattr(module, attribute)
    except AttributeError:
        raise GraphConfigError(
            f"graph '{graph_id}': '{location}' has no attribute '{attribute}'"
        ) from None


def _import_file(path: Path, graph_id: str) -> ModuleType:
    path = path.resolve()
    if not path.is_file():
        raise GraphConfigError(f"graph '{graph_id}': file {path} does not exist")
    module_name = _module_name_for(path)
    existing = sys.modules.get(module_name)
    if existing is not None and getattr(existing, "__file__", None) == str(path):
        return existing
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise GraphConfigError(f"graph '{graph_id}': cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as error:
        del sys.modules[module_name]
        raise GraphConfigError(
            f"graph '{graph_id}': importing {path} failed: {type(error).__name__}: {error}"
        ) from error
    return module


def _module_name_for(path: Path) -> str:
    # A file inside a package on sys.path imports under its dotted name, so its relative
    # imports and a later `import package.module` share one module object.
    for entry in sys.path:
        try:
            relative = path.relative_to(Path(entry or ".").resolve())
        except ValueError:
            continue
        parts = relative.with_suffix("").parts
        if all(part.isidentifier() for part in parts) and _is_package_chain(path, len(parts)):
            return ".".join(parts)
    return f"_reference_server_graph_{abs(hash(str(path)))}"


def _is_package_chain(path: Path, depth: int) -> bool:
    directory = path.parent
    for _ in range(depth - 1):
        if not (directory / "__init__.py").is_file():
            return False
        directory = directory.parent
    return True


async def _call_factory(factory: Any, config: RunnableConfig) -> Any:
    try:
        parameters = inspect.signature(factory).parameters
    except (TypeError, ValueError):
        parameters = {}  # type: ignore[assignment]
    arguments = (config,) if _takes_argument(parameters) else ()
    produced = factory(*arguments)
    if inspect.isawaitable(produced):
        produced = await produced
    return produced


def _takes_argument(parameters: Mapping[str, inspect.Parameter]) -> bool:
    return any(
        parameter.kind
        in (
            inspect.Parameter.POSITIONAL_ONLY,
            inspect.Parameter.POSITIONAL_OR_KEYWORD,
            inspect.Parameter.VAR_POSITIONAL,
        )
        for parameter in parameters.values()
    )
