"""The recording as if the suite had sent the same run config: model settings echoed.

``langgraph dev`` echoes a run's ``configurable`` wherever it echoes ``base_url``: the run's
``kwargs.config.configurable`` and ``context``, checkpoint and thread metadata,
``messages/metadata`` events. The fixtures were recorded with ``base_url`` alone, so when a
check sends ``--llm-model`` or ``--llm-api-key`` too, every such object of the target's
answers holds keys the recording lacks, which the comparison would report as the target's
doing. Adding the same keys beside every ``base_url`` the recording echoes gives what
``langgraph dev`` would have answered to the same request.

Pure: no I/O.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
from collections.abc import Mapping
from typing import Any

from conformance.scenarios.model import Request, Scenario, Stream
from conformance.sse import parse_stream
from conformance.transcript import Chunk, Exchange, Transcript

_ECHOED_KEY = "base_url"
_MODEL_PLACEHOLDERS = frozenset({"{llm_configurable}", "{failing_llm_configurable}"})


def with_model_settings(
    scenario: Scenario, fixture: Transcript, settings: Mapping[str, str]
) -> Transcript:
    """``fixture`` with ``settings`` (e.g. ``{"model_name": ...}``) beside every echoed
    ``base_url`` that is the model URL the recording sent through the scenario's model
    configurable (not a URL a step spells out itself); the fixture itself when there are no
    settings to add."""
    urls = recorded_model_urls(scenario, fixture)
    if not settings or not urls:
        return fixture
    return dataclasses.replace(
        fixture,
        exchanges=[_exchange(exchange, settings, urls) for exchange in fixture.exchanges],
    )


def recorded_model_urls(scenario: Scenario, fixture: Transcript) -> frozenset[str]:
    """The ``base_url`` values the recording sent where the scenario's steps send the model
    configurable."""
    urls: set[str] = set()
    steps = {step.name: step for step in scenario.steps if isinstance(step, Request | Stream)}
    for exchange in fixture.exchanges:
        step = steps.get(exchange.step)
        if step is None or not isinstance(step.body, dict):
            continue
        config = step.body.get("config")
        placeholder = config.get("configurable") if isinstance(config, dict) else None
        if not isinstance(placeholder, str) or placeholder not in _MODEL_PLACEHOLDERS:
            continue
        sent = exchange.request.body
        with contextlib.suppress(AttributeError, TypeError):
            url = sent["config"]["configurable"][_ECHOED_KEY]
            if isinstance(url, str):
                urls.add(url)
    return frozenset(urls)


def _exchange(exchange: Exchange, settings: Mapping[str, str], urls: frozenset[str]) -> Exchange:
    response = exchange.response
    body = response.body
    if not body or _ECHOED_KEY.encode() not in body:
        return exchange
    content_type = (response.header("content-type") or "").lower()
    rewritten: bytes | None
    if content_type.startswith("text/event-stream"):
        rewritten = _stream(body, settings, urls)
    else:
        rewritten = _json_body(body, settings, urls)
    if rewritten is None:
        return exchange
    chunk = Chunk(at_ms=response.chunks[-1].at_ms if response.chunks else 0.0, data=rewritten)
    return dataclasses.replace(exchange, response=dataclasses.replace(response, chunks=[chunk]))


def _json_body(body: bytes, settings: Mapping[str, str], urls: frozenset[str]) -> bytes | None:
    try:
        parsed = json.loads(body)
    except ValueError:
        return None
    return json.dumps(_add(parsed, settings, urls), ensure_ascii=False).encode()


def _stream(body: bytes, settings: Mapping[str, str], urls: frozenset[str]) -> bytes:
    blocks = []
    for event in parse_stream(body).events:
        data = event.data
        if _ECHOED_KEY in data:
            with contextlib.suppress(ValueError):
                data = json.dumps(_add(json.loads(data), settings, urls), ensure_ascii=False)
        lines = [f"event: {event.event}"] + [f"data: {line}" for line in data.split("\n")]
        if event.id is not None:
            lines.append(f"id: {event.id}")
        blocks.append("\r\n".join(lines) + "\r\n\r\n")
    return "".join(blocks).encode()


def _add(value: Any, settings: Mapping[str, str], urls: frozenset[str]) -> Any:
    if isinstance(value, list):
        return [_add(item, settings, urls) for item in value]
    if not isinstance(value, dict):
        return value
    result = {key: _add(item, settings, urls) for key, item in value.items()}
    if value.get(_ECHOED_KEY) in urls:
        for key, setting in settings.items():
            result.setdefault(key, setting)
    return result
