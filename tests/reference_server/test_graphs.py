"""GraphRegistry loads what ``langgraph dev`` loads: file and module references, compiled
graphs, StateGraphs and factories, ``env`` and ``dependencies``; and says why when it cannot."""

from __future__ import annotations

import json
import os
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.store.memory import InMemoryStore

from reference_server.graphs import (
    GraphConfigError,
    GraphNotFoundError,
    GraphRegistry,
    parse_env_file,
)

_GRAPH_MODULE = textwrap.dedent(
    """
    from typing_extensions import TypedDict
    from langgraph.graph import START, StateGraph

    class State(TypedDict, total=False):
        text: str

    def shout(state: State) -> dict:
        return {"text": state.get("text", "").upper()}

    def _builder() -> StateGraph:
        builder = StateGraph(State)
        builder.add_node("shout", shout)
        builder.add_edge(START, "shout")
        return builder

    compiled = _builder().compile()
    uncompiled = _builder()
    seen_configs = []

    def factory(config):
        seen_configs.append(config)
        return _builder().compile()

    async def async_factory():
        return _builder()

    not_a_graph = 42
    """
)


def _project(tmp_path: Path, config: dict[str, Any], module_name: str = "my_graphs") -> Path:
    source = tmp_path / "src"
    source.mkdir(exist_ok=True)
    (source / f"{module_name}.py").write_text(_GRAPH_MODULE, encoding="utf-8")
    config_path = tmp_path / "langgraph.json"
    config_path.write_text(json.dumps(config), encoding="utf-8")
    return config_path


def _registry(config_path: Path) -> GraphRegistry:
    registry = GraphRegistry(config_path, InMemorySaver(), InMemoryStore())
    registry.load()
    return registry


async def test_file_references_compiled_uncompiled_and_factories(tmp_path: Path) -> None:
    config_path = _project(
        tmp_path,
        {
            "graphs": {
                "compiled": "./src/my_graphs.py:compiled",
                "uncompiled": "./src/my_graphs.py:uncompiled",
                "factory": {"path": "./src/my_graphs.py:factory", "description": "made per run"},
                "async_factory": "./src/my_graphs.py:async_factory",
            }
        },
    )
    registry = _registry(config_path)
    assert registry.graph_ids == ["async_factory", "compiled", "factory", "uncompiled"]
    assert registry.description("factory") == "made per run"
    for graph_id in registry.graph_ids:
        graph = await registry.get_graph(graph_id, {"configurable": {"user": "u1"}})
        assert graph.name == graph_id
        assert graph.checkpointer is registry.checkpointer
        assert graph.store is registry.store
        result = await graph.ainvoke(
            {"text": "hi"}, {"configurable": {"thread_id": f"t-{graph_id}"}}
        )
        assert result == {"text": "HI"}
    module = sys.modules[registry.source("factory").export.__module__]
    assert module.seen_configs[-1]["configurable"] == {"user": "u1"}
    # A compiled graph is prepared once; a factory is called every time.
    assert await registry.get_graph("compiled") is await registry.get_graph("compiled")
    calls = len(module.seen_configs)
    await registry.get_graph("factory")
    assert len(module.seen_configs) == calls + 1


async def test_module_references_with_dependencies_and_env(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(
        "# comment\nexport D1_TEST_FROM_FILE='quoted value'\nD1_TEST_PLAIN=plain # note\n",
        encoding="utf-8",
    )
    config_path = _project(
        tmp_path,
        {
            "dependencies": ["./src"],
            "graphs": {"graph": "d1_module_graphs:compiled"},
            "env": ".env",
        },
        module_name="d1_module_graphs",
    )
    try:
        registry = _registry(config_path)
        assert str((tmp_path / "src").resolve()) in sys.path
        assert os.environ["D1_TEST_FROM_FILE"] == "quoted value"
        assert os.environ["D1_TEST_PLAIN"] == "plain"
        graph = await registry.get_graph("graph")
        assert graph.name == "graph"
    finally:
        sys.path.remove(str((tmp_path / "src").resolve()))
        for name in ("D1_TEST_FROM_FILE", "D1_TEST_PLAIN"):
            os.environ.pop(name, None)


def test_env_dict_does_not_override_the_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("D1_TEST_KEPT", "from-process")
    monkeypatch.delenv("D1_TEST_NEW", raising=False)
    config_path = _project(
        tmp_path,
        {
            "graphs": {"g": "./src/my_graphs.py:compiled"},
            "env": {"D1_TEST_KEPT": "from-config", "D1_TEST_NEW": 5},
        },
    )
    _registry(config_path)
    assert os.environ["D1_TEST_KEPT"] == "from-process"
    assert os.environ["D1_TEST_NEW"] == "5"
    monkeypatch.delenv("D1_TEST_NEW")


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"graphs": {}}, "'graphs' must be a non-empty object"),
        ({"graphs": {"g": "./src/missing.py:graph"}}, "does not exist"),
        ({"graphs": {"g": "./src/my_graphs.py:nothing"}}, "has no attribute 'nothing'"),
        ({"graphs": {"g": "no_such_module_d1:graph"}}, "cannot import module 'no_such_module_d1'"),
        ({"graphs": {"g": "./src/my_graphs.py"}}, "must look like 'path.py:attr'"),
        ({"graphs": {"g": 3}}, "graphs.g must be"),
        ({"graphs": {"g": "./src/my_graphs.py:compiled"}, "env": 3}, "'env' must be"),
        (
            {"graphs": {"g": "./src/my_graphs.py:compiled"}, "env": "nope.env"},
            "cannot read env file",
        ),
        ({"graphs": {"g": "./src/my_graphs.py:compiled"}, "dependencies": "."}, "must be a list"),
    ],
)
def test_config_errors_say_why(tmp_path: Path, config: dict[str, Any], message: str) -> None:
    config_path = _project(tmp_path, config)
    with pytest.raises(GraphConfigError, match=message):
        _registry(config_path)


def test_unreadable_config(tmp_path: Path) -> None:
    with pytest.raises(GraphConfigError, match="cannot read"):
        _registry(tmp_path / "missing.json")
    broken = tmp_path / "broken.json"
    broken.write_text("{", encoding="utf-8")
    with pytest.raises(GraphConfigError, match="not valid JSON"):
        _registry(broken)


async def test_unknown_graph_and_non_graph_export(tmp_path: Path) -> None:
    config_path = _project(tmp_path, {"graphs": {"bad": "./src/my_graphs.py:not_a_graph"}})
    registry = _registry(config_path)
    with pytest.raises(GraphNotFoundError) as raised:
        await registry.get_graph("nope")
    assert str(raised.value) == "Graph 'nope' not found. Expected one of: ['bad']"
    with pytest.raises(GraphConfigError, match="is a int, expected a compiled graph"):
        await registry.get_graph("bad")


async def test_schemas_and_drawing(tmp_path: Path) -> None:
    registry = _registry(_project(tmp_path, {"graphs": {"g": "./src/my_graphs.py:compiled"}}))
    schemas = await registry.schemas("g")
    assert schemas["state_schema"] == {
        "properties": {"text": {"default": None, "title": "Text", "type": "string"}},
        "title": "g_state",
        "type": "object",
    }
    assert schemas["config_schema"] == {}
    drawing = await registry.drawing("g")
    assert drawing["nodes"][1] == {"id": "shout", "type": "runnable", "data": {"name": "shout"}}


def test_parse_env_file(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text(
        'A=1\n\n#x=2\nB="two words"\nexport C=3\nnot a line\nD=\nE=x#y\n', encoding="utf-8"
    )
    assert parse_env_file(env_file) == {"A": "1", "B": "two words", "C": "3", "D": "", "E": "x#y"}
