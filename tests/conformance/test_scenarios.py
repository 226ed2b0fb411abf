"""The scenario catalogue is well-formed: names, capabilities, step references, placeholders."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from conformance.capabilities import CAPABILITIES
from conformance.scenarios import (
    CATALOGUE,
    RECORDED_STEPS,
    Await,
    NewId,
    Poll,
    Request,
    Scenario,
    Stream,
    WaitForEvents,
    cross_origin,
    errors,
    prebuilt,
    resources,
    runs,
    select,
    streaming,
)
from conformance.scenarios.model import BUILT_IN_VARIABLES
from conformance.scenarios.substitution import UnknownVariable, rename_graphs, substitute

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SERVED_GRAPHS = set(json.loads((PROJECT_ROOT / "langgraph.json").read_text())["graphs"])
MODEL_GRAPHS = {"agent", "weather_agent", "parent_agent", "react_agent"}
ALL_MODES = {
    "values",
    "updates",
    "messages",
    "messages-tuple",
    "events",
    "debug",
    "custom",
    "tasks",
    "checkpoints",
}
_PLACEHOLDER = re.compile(r"\{([a-z_][a-z0-9_]*)\}")

SCENARIOS = list(CATALOGUE.values())


def _ids(scenario: Scenario) -> str:
    return scenario.name


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list | tuple):
        return [text for item in value for text in _strings(item)]
    if isinstance(value, dict):
        return [text for item in value.values() for text in _strings(item)]
    return []


def test_catalogue_is_not_empty_and_keyed_by_name() -> None:
    assert len(CATALOGUE) >= 50
    for name, scenario in CATALOGUE.items():
        assert scenario.name == name


def test_every_area_module_contributes_and_no_name_is_shared() -> None:
    names = [
        scenario.name
        for module in (streaming, prebuilt, runs, resources, errors, cross_origin)
        for scenario in module.SCENARIOS
    ]
    assert len(names) == len(set(names)) == len(CATALOGUE)


@pytest.mark.parametrize("scenario", SCENARIOS, ids=_ids)
def test_scenario_is_well_formed(scenario: Scenario) -> None:
    assert re.fullmatch(r"[a-z][a-z0-9_]*", scenario.name), "names become file names"
    assert scenario.capability in CAPABILITIES
    assert scenario.description.strip()
    recorded = scenario.recorded_step_names
    assert recorded, "a scenario that records nothing cannot be compared"
    assert len(recorded) == len(set(recorded)), f"duplicate step names in {recorded}"
    for step in scenario.steps:
        if isinstance(step, Request | Stream | Poll):
            assert step.path.startswith("/")
            assert 200 <= step.expect_status < 600
        if isinstance(step, Request | Stream):
            assert step.method in {"GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}


@pytest.mark.parametrize("scenario", SCENARIOS, ids=_ids)
def test_every_placeholder_is_bound_by_an_earlier_step(scenario: Scenario) -> None:
    # Captures of a background step bind at its WaitForEvents/Await; others right away.
    bound = set(BUILT_IN_VARIABLES)
    background: dict[str, Request | Stream] = {}
    for step in scenario.steps:
        if isinstance(step, NewId):
            bound.add(step.variable)
            continue
        if isinstance(step, WaitForEvents | Await):
            assert step.step in background, f"{step} names no earlier background step"
            bound.update(capture.variable for capture in background[step.step].captures)
            if isinstance(step, WaitForEvents):
                assert isinstance(background[step.step], Stream)
            continue
        assert isinstance(step, RECORDED_STEPS)
        texts = _strings(step.path)
        if isinstance(step, Request | Stream):
            texts += _strings(step.body) + [value for _, value in step.headers]
        for text in texts:
            for name in _PLACEHOLDER.findall(text):
                assert name in bound, f"step {step.name!r} uses {{{name}}} before it is bound"
        if isinstance(step, Request | Stream) and step.background:
            background[step.name] = step
        else:
            bound.update(capture.variable for capture in step.captures)


@pytest.mark.parametrize("scenario", SCENARIOS, ids=_ids)
def test_run_bodies_name_served_graphs_and_reach_the_model(scenario: Scenario) -> None:
    for step in scenario.steps:
        if not isinstance(step, Request | Stream) or not isinstance(step.body, dict):
            continue
        graph = step.body.get("assistant_id") or step.body.get("graph_id")
        if not isinstance(graph, str) or "{" in graph or graph == "no_such_graph":
            continue
        assert graph in SERVED_GRAPHS, f"{step.name}: unknown graph {graph!r}"
        if graph in MODEL_GRAPHS and "input" in step.body:
            assert step.body["config"]["configurable"] in (
                "{llm_configurable}",
                "{failing_llm_configurable}",
            )
        modes = step.body.get("stream_mode")
        for mode in [modes] if isinstance(modes, str) else modes or []:
            assert mode in ALL_MODES or scenario.name == "error_bad_stream_mode"


def test_each_stream_mode_is_covered_for_a_greeting_and_a_tool_call() -> None:
    for mode in ALL_MODES:
        mode_name = mode.replace("-", "_")
        for prompt in ("greeting", "tool_call"):
            scenario = CATALOGUE[f"stream_{mode_name}_{prompt}"]
            stream = scenario.step("stream")
            assert isinstance(stream, Stream)
            assert stream.body["stream_mode"] == [mode]


def test_every_multitask_strategy_waits_for_a_busy_thread_before_the_second_run() -> None:
    for strategy in ("reject", "interrupt", "rollback", "enqueue"):
        steps = CATALOGUE[f"multitask_{strategy}"].steps
        kinds = [type(step).__name__ for step in steps]
        wait = kinds.index("WaitForEvents")
        busy = next(i for i, step in enumerate(steps) if getattr(step, "name", "") == "thread_busy")
        second = next(
            i for i, step in enumerate(steps) if getattr(step, "name", "") == "second_stream"
        )
        assert wait < busy < second
        second_step = steps[second]
        assert isinstance(second_step, Stream)
        assert second_step.body["multitask_strategy"] == strategy


def test_capabilities_exercised() -> None:
    exercised = {scenario.capability for scenario in CATALOGUE.values()}
    # sse_framing is judged on every stream by the rules, not by a scenario of its own.
    assert set(CAPABILITIES) - exercised <= {"sse_framing"}


def test_select_keeps_catalogue_order_and_names_unknown_scenarios() -> None:
    assert select(None) == SCENARIOS
    assert [s.name for s in select(["error_unknown_graph", "stream_values_greeting"])] == [
        "stream_values_greeting",
        "error_unknown_graph",
    ]
    with pytest.raises(ValueError, match="no_such_scenario"):
        select(["stream_values_greeting", "no_such_scenario"])


def test_step_lookup_names_the_missing_step() -> None:
    with pytest.raises(KeyError, match="no step 'nope'"):
        CATALOGUE["stream_values_greeting"].step("nope")


def test_substitute_keeps_types_for_whole_placeholders_and_formats_inside_text() -> None:
    variables = {"thread_id": "t-1", "count": 3, "config": {"a": 1}}
    body = {"path": "/threads/{thread_id}/runs", "n": "{count}", "c": ["{config}"], "k": 7}
    assert substitute(body, variables) == {
        "path": "/threads/t-1/runs",
        "n": 3,
        "c": [{"a": 1}],
        "k": 7,
    }
    # Braces that are not placeholders (JSON in text, upper case) stay as they are.
    assert substitute('{"a": 1} {Name}', variables) == '{"a": 1} {Name}'


def test_substitute_names_the_unbound_variable() -> None:
    with pytest.raises(UnknownVariable, match=r"\{run_id\}.*known: thread_id"):
        substitute("/threads/{thread_id}/runs/{run_id}", {"thread_id": "t"})


def test_rename_graphs_touches_only_graph_fields() -> None:
    body = {"assistant_id": "weather_agent", "input": {"text": "weather_agent"}, "x": 1}
    renamed = rename_graphs(body, {"weather_agent": "their_agent"})
    assert renamed == {"assistant_id": "their_agent", "input": {"text": "weather_agent"}, "x": 1}
    assert body["assistant_id"] == "weather_agent", "the scenario's own data is not mutated"
    assert rename_graphs({"graph_id": "custom_events"}, {"custom_events": "c"}) == {"graph_id": "c"}
    assert rename_graphs(["not", "a", "dict"], {"not": "x"}) == ["not", "a", "dict"]


def test_a_mapped_graph_gets_the_model_settings_the_body_does_not_set() -> None:
    model = {"base_url": "http://127.0.0.1:9/v1", "model_name": "m"}
    graph_map = {"custom_events": "agent"}
    assert rename_graphs({"assistant_id": "custom_events"}, graph_map, model) == {
        "assistant_id": "agent",
        "config": {"configurable": model},
    }
    own = {
        "assistant_id": "custom_events",
        "config": {"tags": ["t"], "configurable": {"base_url": "own"}},
    }
    assert rename_graphs(own, graph_map, model)["config"] == {
        "tags": ["t"],
        "configurable": {"base_url": "own", "model_name": "m"},
    }, "what the scenario sends itself wins"
    assert rename_graphs({"assistant_id": "agent"}, graph_map, model) == {"assistant_id": "agent"}
    assert (
        rename_graphs({"graph_id": "custom_events", "config": "bad"}, graph_map, model)["config"]
        == "bad"
    ), "a malformed config is sent as the scenario wrote it"
