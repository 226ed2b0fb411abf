"""The recording as if the suite had sent the same model settings: added beside every echoed
model ``base_url``, nowhere else."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from conformance.run_config_echo import recorded_model_urls, with_model_settings
from conformance.scenarios import CATALOGUE
from conformance.sse import parse_stream
from conformance.transcript import Transcript, load

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
SETTINGS = {"model_name": "served-name", "custom_api_key": "sk-test"}


def _fixture(name: str) -> Transcript:
    return load(FIXTURES / f"{name}.json")


def _objects_with_base_url(value: Any) -> list[dict[str, Any]]:
    if isinstance(value, list):
        return [found for item in value for found in _objects_with_base_url(item)]
    if not isinstance(value, dict):
        return []
    own = [value] if "base_url" in value else []
    return own + [found for item in value.values() for found in _objects_with_base_url(item)]


def _payloads(transcript: Transcript, step: str) -> list[Any]:
    response = transcript.exchange(step).response
    if (response.header("content-type") or "").startswith("text/event-stream"):
        return [json.loads(event.data) for event in parse_stream(response.body).events]
    return [response.json()]


def test_settings_appear_beside_every_echoed_model_url() -> None:
    scenario = CATALOGUE["thread_runs_wait"]
    fixture = _fixture("thread_runs_wait")
    (url,) = recorded_model_urls(scenario, fixture)
    echoed = with_model_settings(scenario, fixture, SETTINGS)
    seen = 0
    for step in ("get_run", "list_runs", "get_state", "history"):
        for payload in _payloads(echoed, step):
            for holder in _objects_with_base_url(payload):
                assert holder["base_url"] == url
                assert {key: holder[key] for key in SETTINGS} == SETTINGS
                seen += 1
    assert seen >= 4
    assert _payloads(fixture, "get_run") != _payloads(echoed, "get_run")


def test_streams_keep_their_events_and_ids() -> None:
    scenario = CATALOGUE["stream_messages_tuple_greeting"]
    fixture = _fixture("stream_messages_tuple_greeting")
    echoed = with_model_settings(scenario, fixture, SETTINGS)
    before = parse_stream(fixture.exchange("stream").response.body).events
    after = parse_stream(echoed.exchange("stream").response.body).events
    assert [(e.event, e.id) for e in before] == [(e.event, e.id) for e in after]


def test_a_url_a_step_spells_out_itself_is_left_alone() -> None:
    scenario = CATALOGUE["assistants_crud"]
    fixture = _fixture("assistants_crud")
    echoed = with_model_settings(scenario, fixture, SETTINGS)
    for exchange in echoed.exchanges:
        for payload in _payloads(echoed, exchange.step) if exchange.response.body else []:
            for holder in _objects_with_base_url(payload):
                assert "model_name" not in holder


def test_no_settings_no_change() -> None:
    scenario = CATALOGUE["thread_runs_wait"]
    fixture = _fixture("thread_runs_wait")
    assert with_model_settings(scenario, fixture, {}) is fixture
