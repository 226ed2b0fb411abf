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
from collections.abc import Iterator

import pytest

from conformance import check
from conformance.findings import Severity
from conformance.oracle import start_langgraph_dev
from conformance.rules.catalog import RULES
from tests.clients.use_stream_page import Shown, Target, drive, missing_pieces
from tests.conformance.broken_servers.fault_proxy import running_proxy
from tests.conformance.broken_servers.proofs import (
    FAULT_CASES,
    LEGAL_VARIATIONS,
    RULE_LEGAL_VARIATIONS,
)

pytestmark = pytest.mark.browser

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
    "preflight_refused",
    "drop_allow_origin",
)
"""Faults that change what this page shows (each proved MUST by the suite's broken-server
tests). The other faults break what the page does not use (reconnecting, joining, errors,
headers a proxy reads) and are not claimed here either way."""


@pytest.fixture(scope="module")
def shown(fake_llm_url: str) -> Iterator[dict[str, dict[str, Shown]]]:
    """What the page showed on langgraph dev, on the reference server, and through the fault
    proxy in front of the reference server for each fault and legal variation."""
    missing = missing_pieces()
    if missing:
        pytest.fail("the browser tests need " + "; ".join(missing), pytrace=False)
    variations = (*LEGAL_VARIATIONS, *RULE_LEGAL_VARIATIONS)
    with contextlib.ExitStack() as stack:
        oracle = start_langgraph_dev(check.DEFAULT_CONFIG)
        stack.callback(oracle.stop)
        reference = check.start_reference_server()
        stack.callback(reference.stop)
        targets = {"langgraph-dev": Target(oracle.url), "reference": Target(reference.url)}
        for name in ("none", *variations, *CLIENT_VISIBLE_FAULTS):
            targets[name] = Target(stack.enter_context(running_proxy(reference.url, name)))
        yield drive(targets, fake_llm_url)


def test_langgraph_dev_shows_the_conversation_with_tokens_as_they_come(
    shown: dict[str, dict[str, Shown]],
) -> None:
    # The ground truth, and a check that the page reads what it should: without this, a page
    # that showed nothing would find every server alike.
    truth = shown["langgraph-dev"]
    tool_round_trip = (
        ("human", "weather in Paris delay:120", ()),
        ("ai", "", ("get_weather",)),
        ("tool", WEATHER, ()),
        ("ai", f"Here is what I found: {WEATHER}", ()),
    )
    assert truth["greeting"] == Shown(
        messages=(("human", "hi delay:150", ()), ("ai", GREETING, ())),
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
