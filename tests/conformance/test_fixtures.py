"""The recorded fixtures match the catalogue: one per scenario, each parses, names a scenario
still in the catalogue, holds every recorded step with the status the step expects, and says
which versions of ``langgraph dev`` produced it."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from conformance.client import _EventReader
from conformance.recorder import RECORDED_PACKAGES
from conformance.scenarios import CATALOGUE, Poll, Request, Stream
from conformance.transcript import Exchange, Transcript, load

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
FIXTURE_FILES = sorted(FIXTURES.glob("*.json"))


def _load(path: Path) -> Transcript:
    return load(path)


def test_every_scenario_has_a_fixture() -> None:
    recorded = {path.stem for path in FIXTURE_FILES}
    missing = [name for name in CATALOGUE if name not in recorded]
    assert not missing, f"record them with `conformance record --scenario NAME`: {missing}"


def test_fixtures_directory_holds_only_fixtures_and_their_readme() -> None:
    others = [path.name for path in FIXTURES.iterdir() if path.suffix != ".json"]
    assert others == ["README.md"]


def _template_matches(template: Any, value: Any) -> bool:
    """Whether a recorded value is what a step template becomes once its placeholders are
    filled (with anything)."""
    if isinstance(template, str) and "{" in template:
        if re.fullmatch(r"\{[a-z_][a-z0-9_]*\}", template):
            return True  # a whole placeholder may become any JSON value
        pattern = re.sub(r"\\\{[a-z_][a-z0-9_]*\\\}", ".+", re.escape(template))
        return isinstance(value, str) and re.fullmatch(pattern, value) is not None
    if isinstance(template, dict):
        return (
            isinstance(value, dict)
            and template.keys() == value.keys()
            and all(_template_matches(template[key], value[key]) for key in template)
        )
    if isinstance(template, list | tuple):
        return (
            isinstance(value, list | tuple)
            and len(template) == len(value)
            and all(_template_matches(t, v) for t, v in zip(template, value, strict=True))
        )
    return bool(template == value)


def _assert_recorded_from_current_step(step: Request | Stream | Poll, exchange: Exchange) -> None:
    method = "GET" if isinstance(step, Poll) else step.method
    assert exchange.request.method == method
    assert _template_matches(step.path, exchange.request.path), exchange.request.path
    if isinstance(step, Request | Stream):
        if isinstance(step, Request) and step.raw_body is not None:
            assert exchange.request.body == step.raw_body.decode()
        else:
            assert _template_matches(step.body, exchange.request.body)
        for name, value in step.headers:
            assert any(
                recorded_name == name.lower() and _template_matches(value, recorded_value)
                for recorded_name, recorded_value in exchange.request.headers
            ), f"header {name} not sent as the step says"


@pytest.mark.parametrize("path", FIXTURE_FILES, ids=lambda path: path.stem)
def test_fixture_parses_and_names_a_scenario_in_the_catalogue(path: Path) -> None:
    transcript = _load(path)
    assert transcript.scenario == path.stem
    assert transcript.scenario in CATALOGUE, "stale fixture: `conformance record --prune`"


@pytest.mark.parametrize("path", FIXTURE_FILES, ids=lambda path: path.stem)
def test_fixture_holds_every_step_with_its_expected_status(path: Path) -> None:
    transcript = _load(path)
    scenario = CATALOGUE[transcript.scenario]
    assert [exchange.step for exchange in transcript.exchanges] == list(
        scenario.recorded_step_names
    )
    for exchange in transcript.exchanges:
        step = scenario.step(exchange.step)
        assert isinstance(step, Request | Stream | Poll)
        assert exchange.response.status == step.expect_status, exchange.step
        assert "{" not in exchange.request.path, "placeholders are filled before sending"
        expected_end = (
            "client"
            if isinstance(step, Stream) and step.disconnect_after_events is not None
            else "server"
        )
        assert exchange.response.closed_by == expected_end, exchange.step
        if isinstance(step, Stream) and step.disconnect_after_events is not None:
            reader = _EventReader()
            reader.feed(exchange.response.body)
            counting = step.counting
            counted = [
                event
                for event in reader.events
                if counting is None or counting.matches(event.name, event.data)
            ]
            assert len(counted) == step.disconnect_after_events
            # The client hung up right after the last event it counted.
            assert reader.events[-1] is counted[-1]
        # A step edited since its recording makes the fixture stale: re-record it.
        _assert_recorded_from_current_step(step, exchange)
        names = [name for name, _ in exchange.response.headers]
        assert names == [name.lower() for name in names]


@pytest.mark.parametrize("path", FIXTURE_FILES, ids=lambda path: path.stem)
def test_fixture_streams_start_with_metadata(path: Path) -> None:
    transcript = _load(path)
    for exchange in transcript.exchanges:
        content_type = exchange.response.header("content-type") or ""
        body = exchange.response.body
        if not content_type.startswith("text/event-stream") or not body:
            continue
        # Only rejoins with Last-Event-ID start mid-stream.
        if any(
            name == "last-event-id" and value != "-1" for name, value in exchange.request.headers
        ):
            continue
        assert body.startswith(b"event: metadata\r\n"), exchange.step


@pytest.mark.parametrize("path", FIXTURE_FILES, ids=lambda path: path.stem)
def test_fixture_says_which_langgraph_dev_produced_it(path: Path) -> None:
    versions = _load(path).recorded_with
    assert set(versions) == set(RECORDED_PACKAGES)
    assert all(version and version != "not installed" for version in versions.values())
