"""The official React hook, ``useStream`` (``@langchain/langgraph-sdk/react``), in headless
Chromium: what an application built on it shows, against langgraph dev, the reference server,
and the broken servers of tests/conformance/broken_servers.

The suite's severities are claims about clients: a MUST is something a client breaks on, a
legal variation something every client takes. Here the client itself says so. The page
(``use_stream/page.jsx``) sends a greeting and a tool round trip with ``submit`` and reopens
the tool thread, as a chat application does; ``use_stream/drive.mjs`` runs it in Chromium
with Playwright and reads back the messages the hook holds, whether the answer grew token by
token, and any error. Needs Node.js, ``npm ci --prefix tests/clients/use_stream`` and
Chromium at ``/usr/bin/chromium`` (``CHROMIUM_PATH``): ``tox -e browser`` installs the first,
``.ci/run`` the second.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from conformance import check
from conformance.findings import Severity
from conformance.oracle import start_langgraph_dev
from conformance.rules.catalog import RULES
from tests.conformance.broken_servers.fault_proxy import running_proxy
from tests.conformance.broken_servers.proofs import (
    FAULT_CASES,
    LEGAL_VARIATIONS,
    RULE_LEGAL_VARIATIONS,
)

pytestmark = pytest.mark.browser

_PAGE = Path(__file__).resolve().parent / "use_stream"
_CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
_DRIVER_TIMEOUT_SECONDS = 900.0
_STREAMED_SPAN_MS = 250.0

GREETING = "Hello! How can I help you today?"
WEATHER = "It is sunny and 21°C in Paris."

CLIENT_VISIBLE_FAULTS = (
    "swap_modes",
    "wrong_content_type",
    "invalid_utf8",
    "unterminated_last_event",
    "data_not_json",
    "cut_mid_stream",
    "buffered_stream",
    "tuple_not_pair",
    "drop_tuple_ids",
    "null_tuple_ids",
)
"""Faults that change what this page shows (each proved MUST by the suite's broken-server
tests). The other faults break what the page does not use (reconnecting, joining, errors,
headers a proxy reads) and are not claimed here either way."""


@dataclass(frozen=True, slots=True)
class Shown:
    """What the page showed at the end of one case."""

    messages: tuple[tuple[str, str, tuple[str, ...]], ...]
    """(type, text, tool call names) of every message the hook holds."""
    streamed: bool
    """The last AI answer grew on screen token by token: in more than two steps, spread over
    at least ``_STREAMED_SPAN_MS`` (the paced model takes longer than that to answer; an
    answer held back and written at the end shows all its steps within a few milliseconds)."""
    error: str | None
    timed_out: bool
    console_errors: int


def _cases(api: str, llm_url: str) -> list[dict[str, Any]]:
    model = {"base_url": llm_url}
    cases: list[dict[str, Any]] = [
        # paced (12 and 17 chunks): token-by-token growth takes time the page can see
        {"name": "greeting", "prompt": "hi delay:50", "configurable": model},
        {"name": "tool", "prompt": "weather in Paris delay:40", "configurable": model},
        {"name": "reopen", "threadFrom": "tool", "expectMessages": 4, "configurable": {}},
    ]
    return [{"api": api, "assistant": "weather_agent", **case} for case in cases]


def _shown(result: dict[str, Any]) -> Shown:
    state = result["state"] or {}
    steps = state.get("aiTexts", [])
    return Shown(
        messages=tuple(
            (message["type"], message["content"], tuple(message["tool_calls"]))
            for message in state.get("messages", [])
        ),
        streamed=len(steps) > 2 and steps[-1]["at"] - steps[0]["at"] >= _STREAMED_SPAN_MS,
        error=state.get("error"),
        timed_out=result["timedOut"],
        console_errors=len(result["console"]),
    )


def _drive(targets: dict[str, str], llm_url: str) -> dict[str, dict[str, Shown]]:
    """Runs the cases against every target in one Chromium; target -> case -> what it showed."""
    cases = []
    for target, api in targets.items():
        for case in _cases(api, llm_url):
            name = f"{target}/{case['name']}"
            if "threadFrom" in case:
                case["threadFrom"] = f"{target}/{case['threadFrom']}"
            cases.append({**case, "name": name, "group": target})
    completed = subprocess.run(
        ["node", "drive.mjs", json.dumps(cases)],
        cwd=_PAGE,
        capture_output=True,
        text=True,
        timeout=_DRIVER_TIMEOUT_SECONDS,
        check=False,
    )
    assert completed.returncode == 0, f"drive.mjs failed:\n{completed.stderr[-3000:]}"
    shown: dict[str, dict[str, Shown]] = {target: {} for target in targets}
    for result in json.loads(completed.stdout):
        target, case = result["name"].split("/", 1)
        shown[target][case] = _shown(result)
    return shown


def _require_the_browser() -> None:
    missing = []
    if shutil.which("node") is None:
        missing.append("Node.js (`node` on PATH)")
    if not (_PAGE / "node_modules" / "playwright-core").is_dir():
        missing.append("the page's packages (`npm ci --prefix tests/clients/use_stream`)")
    if not _CHROMIUM.is_file():
        missing.append(f"Chromium at {_CHROMIUM} (`apt-get install chromium`, or CHROMIUM_PATH)")
    if missing:
        pytest.fail("the browser tests need " + "; ".join(missing), pytrace=False)


@pytest.fixture(scope="module")
def shown(fake_llm_url: str) -> Iterator[dict[str, dict[str, Shown]]]:
    """What the page showed on langgraph dev, on the reference server, and through the fault
    proxy in front of the reference server for each fault and legal variation."""
    _require_the_browser()
    variations = (*LEGAL_VARIATIONS, *RULE_LEGAL_VARIATIONS)
    with contextlib.ExitStack() as stack:
        oracle = start_langgraph_dev(check.DEFAULT_CONFIG)
        stack.callback(oracle.stop)
        reference = check.start_reference_server()
        stack.callback(reference.stop)
        targets = {"langgraph-dev": oracle.url, "reference": reference.url}
        for name in ("none", *variations, *CLIENT_VISIBLE_FAULTS):
            targets[name] = stack.enter_context(running_proxy(reference.url, name))
        yield _drive(targets, fake_llm_url)


def test_langgraph_dev_shows_the_conversation_with_tokens_as_they_come(
    shown: dict[str, dict[str, Shown]],
) -> None:
    # The ground truth, and a check that the page reads what it should: without this, a page
    # that showed nothing would find every server alike.
    truth = shown["langgraph-dev"]
    tool_round_trip = (
        ("human", "weather in Paris delay:40", ()),
        ("ai", "", ("get_weather",)),
        ("tool", WEATHER, ()),
        ("ai", f"Here is what I found: {WEATHER}", ()),
    )
    assert truth["greeting"] == Shown(
        messages=(("human", "hi delay:50", ()), ("ai", GREETING, ())),
        streamed=True,
        error=None,
        timed_out=False,
        console_errors=0,
    )
    assert truth["tool"] == Shown(
        messages=tool_round_trip, streamed=True, error=None, timed_out=False, console_errors=0
    )
    assert truth["reopen"].messages == tool_round_trip, "the thread reopened from its state"


def test_the_reference_server_shows_what_langgraph_dev_shows(
    shown: dict[str, dict[str, Shown]],
) -> None:
    assert shown["reference"] == shown["langgraph-dev"]
    assert shown["none"] == shown["reference"], "the proxy alone changes nothing"


@pytest.mark.parametrize("variation", (*LEGAL_VARIATIONS, *RULE_LEGAL_VARIATIONS))
def test_a_variation_the_suite_accepts_changes_nothing_use_stream_shows(
    variation: str, shown: dict[str, dict[str, Shown]]
) -> None:
    assert shown[variation] == shown["reference"]


@pytest.mark.parametrize("fault", CLIENT_VISIBLE_FAULTS)
def test_a_fault_the_suite_fails_changes_what_use_stream_shows(
    fault: str, shown: dict[str, dict[str, Shown]]
) -> None:
    rule = FAULT_CASES[fault].rule
    # the suite's verdict on this fault (tests/conformance/broken_servers proves it fires)
    assert rule.startswith("replay.") or RULES[rule].severity is Severity.MUST
    changed = {
        case: (shown[fault][case], shown["reference"][case])
        for case in ("greeting", "tool")
        if shown[fault][case] != shown["reference"][case]
    }
    assert changed, f"{fault}: the page showed the same as without it"
