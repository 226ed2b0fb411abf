"""The rules against the ground truth: a live ``langgraph dev`` breaks none of them.

The recordings in fixtures/ are checked by test_rules_transcripts.py; this runs the streams
whose rules depend on timing (token delivery with a paced model, judged both by the fake
LLM's pace and as a real model's) and the message-mode streams fresh against a live server,
so a rule that would fire falsely on the ground truth fails here.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from conformance import check
from conformance.client import run_scenario
from conformance.findings import Finding
from conformance.oracle import start_langgraph_dev
from conformance.rules.checks.delivery import model_answers
from conformance.rules.context import StreamContext
from conformance.rules.engine import check_transcript, stream_input
from conformance.scenarios import CATALOGUE
from tests.conformance.broken_servers.proofs import PACED_SCENARIO

MESSAGE_STREAMS = (
    "stream_messages_greeting",
    "stream_messages_tool_call",
    "stream_messages_tuple_tool_call",
    "subgraphs_stream",
)
# langgraph dev repeats an event id when two events share a millisecond: a warning it earns.
_KNOWN_WARNINGS = {"resumable.event-ids-increasing"}


@pytest.fixture(scope="module")
def langgraph_dev_url() -> Iterator[str]:
    server = start_langgraph_dev(check.DEFAULT_CONFIG)
    try:
        yield server.url
    finally:
        server.stop()


def _explain(findings: list[Finding]) -> str:
    return "\n".join(f"{f.rule} at {f.location()}: {f.message}" for f in findings)


async def test_paced_tokens_from_langgraph_dev_break_no_rule(
    langgraph_dev_url: str, fake_llm_url: str
) -> None:
    transcript = await run_scenario(
        PACED_SCENARIO, langgraph_dev_url, llm_url=fake_llm_url, timeout=60.0
    )
    for live_model in (False, True):
        findings = check_transcript(transcript, live_model=live_model)
        assert findings == [], _explain(findings)
    # The rule had something to judge: one answer of many token events.
    stream = StreamContext(stream_input(transcript.exchange("stream"), run_request_body=None))
    answers = model_answers(stream)
    assert len(answers) == 1 and len(answers[0].events) >= 8


@pytest.mark.parametrize("name", MESSAGE_STREAMS)
async def test_message_streams_from_langgraph_dev_break_no_rule(
    name: str, langgraph_dev_url: str, fake_llm_url: str
) -> None:
    transcript = await run_scenario(
        CATALOGUE[name], langgraph_dev_url, llm_url=fake_llm_url, timeout=60.0
    )
    findings = [f for f in check_transcript(transcript) if f.rule not in _KNOWN_WARNINGS]
    assert findings == [], _explain(findings)
