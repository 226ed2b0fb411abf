"""Find and import a graph named in a ``langgraph.json``, as the servers do, so the in-process
floor runs exactly the graph the servers serve."""

from __future__ import annotations

import importlib
import importlib.util
import json
import sys
from pathlib import Path
from typing import Any


class GraphConfigError(ValueError):
    """The config file or the graph entry in it is missing or malformed."""


def graph_spec(config_path: Path, graph_id: str) -> str:
    """The ``module:attr`` or ``./file.py:attr`` entry of ``graph_id`` in the config file."""
    try:
        config = json.loads(config_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise GraphConfigError(f"config file {config_path} does not exist") from None
    except json.JSONDecodeError as error:
        raise GraphConfigError(f"config file {config_path} is not valid JSON: {error}") from None
    graphs = config.get("graphs") if isinstance(config, dict) else None
    if not isinstance(graphs, dict):
        raise GraphConfigError(f'config file {config_path} has no "graphs" object')
    spec = graphs.get(graph_id)
    if isinstance(spec, dict):
        spec = spec.get("path")
    if not isinstance(spec, str):
        known = ", ".join(sorted(graphs)) or "none"
        raise GraphConfigError(
            f"graph {graph_id!r} is not in {config_path} (graphs there: {known})"
        )
    return spec


def import_graph(spec: str, base_dir: Path) -> Any:
    """The object a spec names: a compiled graph, or a factory taking the run's config.

    ``base_dir`` (the config file's folder) goes on ``sys.path`` first, as ``"dependencies":
    ["."]`` does for the servers.
    """
    location, separator, attribute = spec.rpartition(":")
    if not separator or not location or not attribute:
        raise GraphConfigError(
            f"graph spec {spec!r} is not of the form module:attr or file.py:attr"
        )
    if str(base_dir) not in sys.path:
        sys.path.insert(0, str(base_dir))
    if location.endswith(".py"):
        file_path = (base_dir / location).resolve()
        if not file_path.is_file():
            raise GraphConfigError(f"graph file {file_path} (from spec {spec!r}) does not exist")
        module_spec = importlib.util.spec_from_file_location(
            f"_bench_graph_{file_path.stem}", file_path
        )
        if module_spec is None or module_spec.loader is None:
            raise GraphConfigError(f"cannot import graph file {file_path}")
        module = importlib.util.module_from_spec(module_spec)
        module_spec.loader.exec_module(module)
    else:
        module = importlib.import_module(location)
    try:
        return getattr(module, attribute)
    except AttributeError:
        raise GraphConfigError(
            f"{location} has no attribute {attribute!r} (spec {spec!r})"
        ) from None
