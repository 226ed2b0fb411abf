"""The suite against the ground truth: a live ``langgraph dev`` must be judged conformant in
every mode: the whole catalogue unmapped, the whole catalogue with a graph mapped onto another
of its graphs (``--graph weather_agent=agent``: judged in the mapped-graph mode), and as a
target that serves only some graphs (their scenarios NOT TESTED, never PASS or FAIL).

``langgraph dev`` starts in ~10 s; the whole catalogue takes ~20 s against it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from conformance import check
from conformance.oracle import start_langgraph_dev
from conformance.report.results import CapabilityStatus, CheckResult, ScenarioStatus
from conformance.scenarios import CATALOGUE

PARTIAL_GRAPHS = ("agent", "weather_agent")


@pytest.fixture(scope="module")
def langgraph_dev_url() -> Iterator[str]:
    # Started as a user starts it: no model endpoint in its environment. A model-free scenario
    # mapped onto the tools agent gets the check's model settings from the check itself.
    server = start_langgraph_dev(check.DEFAULT_CONFIG)
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture(scope="module")
def partial_langgraph_dev_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``langgraph dev`` serving only the tools agent and the weather agent."""
    full = json.loads(check.DEFAULT_CONFIG.read_text(encoding="utf-8"))
    root = check.DEFAULT_CONFIG.parent
    config = tmp_path_factory.mktemp("partial") / "langgraph.json"
    graphs = {name: full["graphs"][name] for name in PARTIAL_GRAPHS}
    graphs["agent"] = str(root / "agent" / "graph.py") + ":graph"
    config.write_text(json.dumps({"dependencies": [str(root)], "graphs": graphs, "env": {}}))
    server = start_langgraph_dev(config)
    try:
        yield server.url
    finally:
        server.stop()


def _problems(result: CheckResult) -> list[str]:
    return [
        f"{s.name}: {s.error or '; '.join(f'{f.rule} at {f.location()}: {f.message}' for f in s.failures)}"
        for s in result.scenarios
        if s.status in (ScenarioStatus.FAIL, ScenarioStatus.ERROR)
    ]


async def _check(url: str, llm_url: str, **target: object) -> CheckResult:
    return await check.check_target(
        list(CATALOGUE.values()),
        check.Target(url=url, llm_url=llm_url, **target),  # type: ignore[arg-type]
        concurrency=4,
    )


async def test_langgraph_dev_passes_the_whole_catalogue(
    langgraph_dev_url: str, fake_llm_url: str
) -> None:
    result = await _check(langgraph_dev_url, fake_llm_url)
    assert not result.fatal_error, result.fatal_error
    assert _problems(result) == []
    assert result.exit_code == 0
    assert [s.status for s in result.scenarios] == [ScenarioStatus.PASS] * len(CATALOGUE)
    assert result.level == "extended"


async def test_langgraph_dev_passes_mapped_onto_another_of_its_graphs(
    langgraph_dev_url: str, fake_llm_url: str
) -> None:
    result = await _check(langgraph_dev_url, fake_llm_url, graph_map={"weather_agent": "agent"})
    assert not result.fatal_error, result.fatal_error
    assert _problems(result) == []
    assert result.exit_code == 0
    relaxed = {s.name for s in result.scenarios if s.relaxed}
    # only the scenarios that run the mapped graph are relaxed; the others are compared exactly
    assert "stream_values_tool_call" in relaxed and "interrupt_resume" not in relaxed
    assert check.GRAPH_MAP_RELAXATION in result.run.notes


async def test_langgraph_dev_mapped_onto_a_graph_without_their_behaviour_is_not_tested_there(
    langgraph_dev_url: str, fake_llm_url: str
) -> None:
    # every graph onto the tools agent, as a server that serves only its own `agent` is
    # checked (docs/reports: fractal-agents-runtime): the agent never writes custom events
    # nor interrupts, so the scenarios exercising those cannot be judged; nothing fails
    graphs = json.loads(check.DEFAULT_CONFIG.read_text(encoding="utf-8"))["graphs"]
    graph_map = {graph: "agent" for graph in graphs if graph != "agent"}
    result = await _check(langgraph_dev_url, fake_llm_url, graph_map=graph_map)
    assert not result.fatal_error, result.fatal_error
    assert _problems(result) == []
    assert result.exit_code == 0
    assert not [f for s in result.scenarios for f in s.failures]
    not_tested = {s.name: s.not_tested for s in result.scenarios if s.not_tested}
    assert set(not_tested) == {
        "stream_custom_events",
        "stream_custom_events_with_values",
        "interrupt_resume",
    }
    assert "`custom` events" in not_tested["stream_custom_events"]
    assert "an interrupt" in not_tested["interrupt_resume"]
    capabilities = {c.name: c.status for c in result.capabilities}
    assert capabilities["interrupts"] is CapabilityStatus.NOT_TESTED
    assert result.level != "extended"


async def test_langgraph_dev_serving_some_graphs_leaves_the_others_not_tested(
    partial_langgraph_dev_url: str, fake_llm_url: str
) -> None:
    result = await _check(partial_langgraph_dev_url, fake_llm_url)
    assert not result.fatal_error, result.fatal_error
    assert _problems(result) == []
    by_status = {
        status: {s.name for s in result.scenarios if s.status is status}
        for status in ScenarioStatus
    }
    assert {"interrupt_resume", "subgraphs_stream", "stream_custom_events"} <= by_status[
        ScenarioStatus.NOT_TESTED
    ]
    assert "stream_values_tool_call" in by_status[ScenarioStatus.PASS]
    for name in by_status[ScenarioStatus.NOT_TESTED]:
        scenario = next(s for s in result.scenarios if s.name == name)
        assert "would not create one" in scenario.not_tested
        assert not set(check.graphs_of(CATALOGUE[name])) <= set(PARTIAL_GRAPHS)
    capabilities = {c.name: c.status for c in result.capabilities}
    assert capabilities["interrupts"] is CapabilityStatus.NOT_TESTED
    assert result.level != "extended"
    assert result.exit_code == 0
