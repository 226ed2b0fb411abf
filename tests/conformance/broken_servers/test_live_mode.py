"""The delivery rules in ``--llm live`` mode: a model whose tokens take real time.

A fake LLM with a default per-token delay (``--token-delay-ms``) stands in for a real model:
the scenarios carry no ``delay:MS`` directive, so only the live mode's own judgement of timing
applies. Through a transparent proxy no rule fires; a buffered stream and a server sending one
event per message are caught.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from conformance import check
from conformance.fake_llm.process import start_fake_llm
from conformance.findings import Finding
from conformance.rules.catalog import RULES
from conformance.scenarios import CATALOGUE
from tests.conformance.broken_servers.fault_proxy import running_proxy

SCENARIOS = ("stream_messages_greeting", "stream_messages_tuple_tool_call")
TOKEN_DELAY_MS = 15


@pytest.fixture(scope="module")
def paced_llm_url() -> Iterator[str]:
    server = start_fake_llm(token_delay_ms=TOKEN_DELAY_MS)
    try:
        yield server.url + "/v1"
    finally:
        server.stop()


async def _rule_findings(url: str, llm_url: str) -> list[Finding]:
    result = await check.check_target(
        [CATALOGUE[name] for name in SCENARIOS],
        check.Target(url=url, llm_url=llm_url, llm_mode="live", timeout=20.0),
    )
    assert not result.fatal_error, result.fatal_error
    assert [s.error for s in result.scenarios if s.error] == []
    return [f for s in result.scenarios for f in s.findings if f.rule in RULES]


@pytest.mark.parametrize(
    ("fault", "rules"),
    [
        ("none", set()),
        ("buffered_stream", {"stream.incremental"}),
        ("one_event_per_message", {"messages.token-events"}),
    ],
)
async def test_live_mode_judges_delivery_by_the_models_real_pace(
    fault: str, rules: set[str], reference_url: str, paced_llm_url: str
) -> None:
    with running_proxy(reference_url, fault) as url:
        findings = await _rule_findings(url, paced_llm_url)
    assert {f.rule for f in findings} == rules, "\n".join(
        f"{f.rule} at {f.location()}: {f.message}" for f in findings
    )
    assert all(f.is_failure for f in findings)
