"""The floors against the real fake LLM: read directly, the served graph in-process, and the
served graph behind bare HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest

from bench.contestants import ContestantOptions, _start_http_floor
from bench.fake_llm_driver import FakeLlmDriver, tool_calls_from_chunks
from bench.floor_driver import FloorDriver, FloorWorkerError
from bench.floor_worker import graph_stream_modes
from bench.graph_loading import GraphConfigError, graph_spec, import_graph
from bench.http_driver import LangGraphHttpDriver
from bench.process_metrics import snapshot
from bench.workloads import GREETING, TOOL_ROUND_TRIP, long_answer, slow_stream

PROJECT_CONFIG = Path(__file__).resolve().parents[2] / "langgraph.json"


def test_tool_calls_are_reassembled_from_their_fragments() -> None:
    def chunk(fragments: list[dict[str, object]]) -> bytes:
        return orjson.dumps({"choices": [{"index": 0, "delta": {"tool_calls": fragments}}]})

    chunks = [
        chunk([{"index": 0, "id": "call_a", "function": {"name": "get_weather", "arguments": ""}}]),
        chunk([{"index": 0, "function": {"arguments": '{"city"'}}]),
        chunk([{"index": 1, "id": "call_b", "function": {"name": "get_weather"}}]),
        chunk([{"index": 0, "function": {"arguments": ': "Paris"}'}}]),
        b"[DONE]",
    ]
    calls = tool_calls_from_chunks(chunks)
    assert calls == [
        {
            "id": "call_a",
            "type": "function",
            "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
        },
        {"id": "call_b", "type": "function", "function": {"name": "get_weather", "arguments": ""}},
    ]


def test_slow_streams_last_longer_than_the_hold() -> None:
    workload = slow_stream(hold_seconds=10.0, token_delay_ms=500)
    assert workload.prompt == "long:22 delay:500"
    with pytest.raises(ValueError, match="token delay"):
        slow_stream(hold_seconds=1.0, token_delay_ms=0)
    with pytest.raises(ValueError, match="at least 1 token"):
        long_answer(0)


def test_api_stream_modes_map_to_graph_modes_once_each() -> None:
    assert graph_stream_modes(["values", "messages-tuple", "messages"]) == ["values", "messages"]
    with pytest.raises(ValueError, match="cannot stream mode 'events'"):
        graph_stream_modes(["events"])


def test_graph_specs_come_from_the_config(tmp_path: Path) -> None:
    assert graph_spec(PROJECT_CONFIG, "weather_agent") == "agent.scenario_graphs:weather_agent"
    with pytest.raises(GraphConfigError, match="graph 'nope' is not in"):
        graph_spec(PROJECT_CONFIG, "nope")
    with pytest.raises(GraphConfigError, match="does not exist"):
        graph_spec(tmp_path / "missing.json", "agent")
    broken = tmp_path / "langgraph.json"
    broken.write_text("{")
    with pytest.raises(GraphConfigError, match="not valid JSON"):
        graph_spec(broken, "agent")


def test_graph_files_are_imported_relative_to_the_config(tmp_path: Path) -> None:
    (tmp_path / "my_graph.py").write_text("graph = 'the graph object'\n")
    assert import_graph("./my_graph.py:graph", tmp_path) == "the graph object"
    with pytest.raises(GraphConfigError, match="has no attribute 'other'"):
        import_graph("./my_graph.py:other", tmp_path)
    with pytest.raises(GraphConfigError, match="does not exist"):
        import_graph("./absent.py:graph", tmp_path)
    with pytest.raises(GraphConfigError, match="not of the form"):
        import_graph("no_colon", tmp_path)


async def test_the_fake_llm_read_directly(fake_llm_url: str) -> None:
    async with FakeLlmDriver(fake_llm_url) as driver:
        greeting = await driver.run_batch(GREETING, concurrency=2, runs=4)
        tool = await driver.run_batch(TOOL_ROUND_TRIP, concurrency=1, runs=1)
        long = await driver.run_batch(long_answer(50), concurrency=1, runs=1)
    assert greeting.completed == 4, greeting.failures
    assert tool.completed == 1, tool.failures
    # The second call answers from the tool result: "Here is what I found: It is sunny ...".
    assert tool.samples[0].token_events > 1
    assert long.samples[0].token_events == 50


async def test_the_graph_in_process_streams_like_a_server_run(fake_llm_url: str) -> None:
    async with FloorDriver(
        PROJECT_CONFIG,
        graph_id="weather_agent",
        llm_url=fake_llm_url,
        stream_mode=["values", "messages-tuple"],
    ) as floor:
        assert snapshot(floor.pid).rss_bytes > 0
        greeting = await floor.run_batch(GREETING, concurrency=2, runs=3)
        tool = await floor.run_batch(TOOL_ROUND_TRIP, concurrency=1, runs=1)
        long = await floor.run_batch(long_answer(30), concurrency=1, runs=1)

        async def measure() -> int:
            return snapshot(floor.pid).rss_bytes

        outcome, rss = await floor.hold(
            slow_stream(5.0, 1000), count=3, open_timeout=30.0, hold_seconds=0.0, measure=measure
        )
    assert greeting.completed == 3, greeting.failures
    sample = greeting.samples[0]
    assert sample.first_token_at is not None and sample.first_token_at <= sample.latency
    assert tool.completed == 1, tool.failures
    assert long.samples[0].token_events == 30
    assert (outcome.requested, outcome.opened, outcome.active, outcome.failures) == (3, 3, 3, ())
    assert rss > 0


async def test_a_floor_that_cannot_start_says_why_and_leaves_no_process(fake_llm_url: str) -> None:
    driver = FloorDriver(
        PROJECT_CONFIG, graph_id="no_such_graph", llm_url=fake_llm_url, stream_mode=["values"]
    )
    with pytest.raises(FloorWorkerError, match="graph 'no_such_graph' is not in"):
        async with driver:
            pass
    with pytest.raises(RuntimeError, match="not running"):
        _ = driver.pid


@pytest.fixture
def http_floor() -> Iterator[str]:
    options = ContestantOptions(
        config_path=PROJECT_CONFIG,
        graph_id="weather_agent",
        stream_mode=("values", "messages-tuple"),
        endpoint="thread",
        run_timeout=60.0,
        reference_max_concurrent_runs=10,
        langgraph_dev_jobs=10,
        floor_checkpointer=True,
    )
    server = _start_http_floor(options)
    try:
        yield server.url
    finally:
        server.stop()


async def test_the_graph_behind_bare_http_streams_like_a_server_run(
    http_floor: str, fake_llm_url: str
) -> None:
    async with LangGraphHttpDriver(
        http_floor,
        graph_id="weather_agent",
        llm_url=fake_llm_url,
        stream_mode=["values", "messages-tuple"],
    ) as driver:
        greeting = await driver.run_batch(GREETING, concurrency=2, runs=3)
        tool = await driver.run_batch(TOOL_ROUND_TRIP, concurrency=1, runs=1)
        long = await driver.run_batch(long_answer(30), concurrency=1, runs=1)
    assert greeting.completed == 3, greeting.failures
    # metadata, the input's values, tokens as messages tuples, the answer's values.
    assert greeting.samples[0].events >= 4
    assert tool.completed == 1, tool.failures
    assert long.samples[0].token_events == 30

    async with httpx.AsyncClient(base_url=http_floor) as client:
        stream = await client.post(
            "/runs/stream",
            json={"input": {"messages": [{"role": "user", "content": "hi"}]}, "config": {}},
        )
        unknown = await client.get("/threads")
        malformed = await client.post("/runs/stream", content=b"{")
    # No model URL: the graph fails, and the stream ends with an error event saying why.
    assert stream.status_code == 200
    assert stream.text.startswith("event: metadata\r\n")
    assert "\r\nevent: error\r\ndata: " in stream.text
    assert unknown.status_code == 404
    assert malformed.status_code == 422 and "not a run request" in malformed.json()["detail"]
