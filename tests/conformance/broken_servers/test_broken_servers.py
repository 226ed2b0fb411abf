"""Proof that the suite is right: the reference server behind a fault-injecting proxy.

Each fault (a bug another implementation shipped) must be caught by the protocol rule that
names it, and by no other protocol rule; replay findings may come along, since a broken
stream also differs from the recording. Each legal variation (what the SSE spec and the SDKs
allow) must pass. Through the proxy with no fault, everything passes: the proxy itself is
transparent.
"""

from __future__ import annotations

import asyncio

import pytest

from conformance import check
from conformance.findings import Finding, Severity
from conformance.report.results import CheckResult
from conformance.rules.catalog import RULES
from conformance.scenarios import CATALOGUE
from tests.conformance.broken_servers.fault_proxy import running_proxy

# Consequences, not causes: a broken stream also differs from the recorded one, and may stop
# the scenario short (e.g. no metadata event to take the run id from).
_CONSEQUENCE_PREFIXES = ("replay.", "scenario.")

# fault -> (scenarios that exercise it, the rule that names it). The rule's own severity says
# whether it fails the run: repeated ids are a SHOULD, since langgraph dev itself repeats an id
# when two events share a millisecond.
FAULT_CASES: dict[str, tuple[tuple[str, ...], str]] = {
    "swap_modes": (("stream_mode_list_greeting",), "replay.event-order"),
    "drop_metadata": (("stream_values_greeting",), "stream.metadata-first"),
    "extra_mode": (("stream_values_greeting",), "modes.requested-only"),
    "wrong_content_type": (("stream_values_greeting",), "headers.content-type"),
    "drop_location": (("stream_values_greeting",), "headers.location"),
    "reshape_error": (("llm_failure_stream",), "stream.error-payload"),
    "event_ids_decreasing": (("resumable_background_join_stream",), "resumable.event-ids"),
    "event_ids_repeated": (
        ("resumable_background_join_stream",),
        "resumable.event-ids-increasing",
    ),
    "run_still_running": (("stream_values_greeting",), "runs.terminal-on-close"),
    "drop_tuple_ids": (("stream_messages_tuple_greeting",), "messages.tuple-id"),
    # Heartbeats forever: the client gives up on a stream that never ends.
    "rejoin_heartbeats_only": (("resumable_background_join_stream",), "stream.ends"),
}

LEGAL_VARIATIONS = (
    "lf_line_endings",
    "cr_line_endings",
    "split_writes",
    "packed_writes",
    "extra_comments",
    "json_reformatted",
    "end_event",
)
# One scenario per kind of stream the variations could upset: several modes interleaved, an
# error event, resumable ids with a rejoin, and a plain JSON exchange.
VARIATION_SCENARIOS = (
    "stream_mode_list_tool_call",
    "llm_failure_stream",
    "resumable_stream_rejoin",
    "threads_crud",
)

# Bounds each step: the heartbeat-only rejoin must be given up on quickly.
_STEP_TIMEOUT = 4.0

Signature = set[tuple[str, str, str, str]]


async def _check(url: str, llm_url: str, names: tuple[str, ...]) -> CheckResult:
    return await check.check_target(
        [CATALOGUE[name] for name in names],
        check.Target(url=url, llm_url=llm_url, timeout=_STEP_TIMEOUT),
        concurrency=4,
    )


def _findings(result: CheckResult) -> list[Finding]:
    """Every finding, warnings included: a SHOULD rule catches its fault as a warning."""
    assert not result.fatal_error, result.fatal_error
    errors = [f"{s.name}: {s.error}" for s in result.scenarios if s.error]
    assert not errors, errors
    return [finding for scenario in result.scenarios for finding in scenario.findings]


def _signature(findings: list[Finding]) -> Signature:
    return {(f.scenario, f.step, f.rule, f.pointer) for f in findings}


def _explain(findings: list[Finding]) -> str:
    return "\n".join(f"{f.rule} at {f.location()}: {f.message}" for f in findings)


@pytest.fixture(scope="module")
def transparent(reference_url: str, fake_llm_url: str) -> list[Finding]:
    """What the suite says about the reference server through the proxy with no fault."""
    names = tuple(
        sorted(
            {name for names, _ in FAULT_CASES.values() for name in names} | set(VARIATION_SCENARIOS)
        )
    )
    with running_proxy(reference_url, "none") as url:
        return _findings(asyncio.run(_check(url, fake_llm_url, names)))


def test_reference_server_through_a_transparent_proxy_passes(transparent: list[Finding]) -> None:
    failures = [finding for finding in transparent if finding.is_failure]
    assert failures == [], _explain(failures)


@pytest.mark.parametrize("fault", list(FAULT_CASES))
async def test_fault_is_caught_by_the_rule_that_names_it(
    fault: str, reference_url: str, fake_llm_url: str
) -> None:
    scenarios, rule = FAULT_CASES[fault]
    with running_proxy(reference_url, fault) as url:
        result = await _check(url, fake_llm_url, scenarios)
    findings = _findings(result)
    named = [finding for finding in findings if finding.rule == rule]
    assert named, f"{fault} not caught by {rule}:\n{_explain(findings)}"
    # No other protocol rule may fire: only consequences (replay, an unfinished scenario).
    protocol_rules = {f.rule for f in findings if not f.rule.startswith(_CONSEQUENCE_PREFIXES)}
    expected_protocol_rules = set() if rule.startswith(_CONSEQUENCE_PREFIXES) else {rule}
    assert protocol_rules == expected_protocol_rules, _explain(findings)
    if rule in RULES and RULES[rule].severity is not Severity.MUST:
        assert not any(finding.is_failure for finding in named)  # a warning, as it should be
    else:
        assert all(finding.is_failure for finding in named)
        assert result.exit_code == 1


@pytest.mark.parametrize("variation", LEGAL_VARIATIONS)
async def test_legal_variation_passes(
    variation: str, reference_url: str, fake_llm_url: str, transparent: list[Finding]
) -> None:
    with running_proxy(reference_url, variation) as url:
        result = await _check(url, fake_llm_url, VARIATION_SCENARIOS)
    findings = _findings(result)
    if variation == "end_event":
        # At most a warning: said, and never a failure.
        end_findings = [f for f in findings if f.rule == "stream.end-event"]
        assert end_findings and not any(f.is_failure for f in end_findings)
        findings = [f for f in findings if f.rule != "stream.end-event"]
    # The variation changes nothing the suite says: the same findings as with no proxy
    # fault at all (none, once the reference server passes the transparent test).
    expected = [f for f in transparent if f.scenario in VARIATION_SCENARIOS]
    assert _signature(findings) == _signature(expected), _explain(findings)
