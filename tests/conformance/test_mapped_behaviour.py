"""A mapped graph that lacks the recorded behaviour: NOT TESTED under the mapping, FAIL
without it, and the rules on the target's own streams still count."""

from __future__ import annotations

import dataclasses
from typing import Any

from conformance import check
from conformance.baseline import Baseline
from conformance.mapped_behaviour import missing_behaviours, set_aside
from conformance.report.results import ScenarioStatus
from conformance.scenarios import CATALOGUE
from conformance.sse import parse_stream
from conformance.transcript import Chunk, Exchange, Transcript, load

SCENARIO = CATALOGUE["stream_custom_events"]
RECORDING = load(check.DEFAULT_FIXTURES / f"{SCENARIO.name}.json")
MAPPING = {"custom_events": "agent"}


def _without_custom(exchange: Exchange) -> Exchange:
    if not (exchange.response.header("content-type") or "").startswith("text/event-stream"):
        return exchange
    blocks = [
        f"event: {event.event}\r\ndata: {event.data}\r\n\r\n"
        for event in parse_stream(exchange.response.body).events
        if not event.event.startswith("custom")
    ]
    chunk = Chunk(at_ms=0.0, data="".join(blocks).encode())
    return dataclasses.replace(
        exchange, response=dataclasses.replace(exchange.response, chunks=[chunk])
    )


def _replaying(transcript: Transcript) -> Any:
    async def runner(scenario: Any, base_url: str, **options: Any) -> Transcript:
        return transcript

    return runner


async def _judge(transcript: Transcript, graph_map: dict[str, str]) -> Any:
    result, _ = await check.judge_scenario(
        SCENARIO,
        check.Target(url="http://x", llm_url="http://llm", graph_map=graph_map),
        fixtures_dir=check.DEFAULT_FIXTURES,
        baseline=Baseline(),
        runner=_replaying(transcript),
    )
    return result


def _silent() -> Transcript:
    return dataclasses.replace(
        RECORDING, exchanges=[_without_custom(e) for e in RECORDING.exchanges]
    )


def test_the_recordings_show_custom_events_and_interrupts() -> None:
    assert missing_behaviours(RECORDING, _silent()) == [
        "`custom` events (the graph's stream writer)"
    ]
    assert missing_behaviours(RECORDING, RECORDING) == []
    interrupted = load(check.DEFAULT_FIXTURES / "interrupt_resume.json")
    assert missing_behaviours(interrupted, RECORDING) == [
        "an interrupt (`__interrupt__`, a state's `interrupts`)"
    ]
    # a run interrupted by a multitask strategy is the server's doing, not a graph's
    multitask = load(check.DEFAULT_FIXTURES / "multitask_interrupt.json")
    assert missing_behaviours(multitask, RECORDING) == []


async def test_a_target_without_custom_events_fails_unmapped() -> None:
    result = await _judge(_silent(), {})
    assert result.status is ScenarioStatus.FAIL
    assert any(f.rule == "replay.event-order" for f in result.failures)


async def test_a_mapped_graph_without_custom_events_is_not_tested_with_the_reason() -> None:
    result = await _judge(_silent(), MAPPING)
    assert result.status is ScenarioStatus.NOT_TESTED
    assert "`custom` events" in result.not_tested
    assert "--graph custom_events=agent" in result.not_tested
    # what follows from the missing behaviour is listed, not counted
    assert result.ignored and all(set_aside(finding.rule) for _, finding in result.ignored)
    assert result.failures == ()


async def test_a_mapped_graph_with_the_behaviour_is_judged() -> None:
    result = await _judge(RECORDING, MAPPING)
    assert result.status is ScenarioStatus.PASS
    assert result.not_tested == ""


async def test_a_broken_stream_still_fails_a_mapped_graph_without_the_behaviour() -> None:
    silent = _silent()
    broken = [
        dataclasses.replace(e, response=dataclasses.replace(e.response, closed_by="broken"))
        if (e.response.header("content-type") or "").startswith("text/event-stream")
        else e
        for e in silent.exchanges
    ]
    result = await _judge(dataclasses.replace(silent, exchanges=broken), MAPPING)
    assert result.status is ScenarioStatus.FAIL
    assert "stream.intact" in {f.rule for f in result.failures}
    assert "`custom` events" in result.not_tested
