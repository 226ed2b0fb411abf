"""Proof that the suite is right: the reference server behind a fault-injecting proxy.

Each fault (a bug another implementation shipped) must be caught by the rule that names it,
and by no other protocol rule; replay findings may come along, since a broken stream also
differs from the recording. Every rule of the catalogue has such a proof. Each legal variation
(what the SSE spec and the SDKs allow) must pass. Through the proxy with no fault, everything
passes: the proxy itself is transparent.
"""

from __future__ import annotations

import asyncio

import pytest

from conformance import check
from conformance.client import run_scenario
from conformance.findings import Finding, Severity
from conformance.report.results import CheckResult
from conformance.rules.catalog import RULES
from conformance.rules.engine import check_transcript
from conformance.scenarios import CATALOGUE
from tests.conformance.broken_servers.fault_proxy import FAULTS, running_proxy
from tests.conformance.broken_servers.proofs import (
    FAULT_CASES,
    LEGAL_VARIATIONS,
    PACED_SCENARIO,
    RULE_LEGAL_VARIATIONS,
    Proof,
)

# Consequences, not causes: a broken stream also differs from the recorded one, and may stop
# the scenario short (e.g. no metadata event to take the run id from).
_CONSEQUENCE_PREFIXES = ("replay.", "scenario.")

# One scenario per kind of stream the variations could upset: several modes interleaved, an
# error event, resumable ids with a rejoin, and a plain JSON exchange.
VARIATION_SCENARIOS = (
    "stream_mode_list_tool_call",
    "llm_failure_stream",
    "resumable_stream_rejoin",
    "threads_crud",
)

_STEP_TIMEOUT = 4.0

Signature = set[tuple[str, str, str, str]]


async def _check(
    url: str, llm_url: str, names: tuple[str, ...], timeout: float = _STEP_TIMEOUT
) -> CheckResult:
    return await check.check_target(
        [CATALOGUE[name] for name in names],
        check.Target(url=url, llm_url=llm_url, timeout=timeout),
        concurrency=4,
    )


def _findings(result: CheckResult) -> list[Finding]:
    """Every finding, warnings included: a SHOULD rule catches its fault as a warning."""
    assert not result.fatal_error, result.fatal_error
    errors = [f"{s.name}: {s.error}" for s in result.scenarios if s.error]
    assert not errors, errors
    return [finding for scenario in result.scenarios for finding in scenario.findings]


async def _paced_findings(url: str, llm_url: str) -> list[Finding]:
    """The rules alone on the paced scenario (it has no recording to replay against)."""
    transcript = await run_scenario(PACED_SCENARIO, url, llm_url=llm_url, timeout=20.0)
    return check_transcript(transcript)


def _signature(findings: list[Finding]) -> Signature:
    return {(f.scenario, f.step, f.rule, f.pointer) for f in findings}


def _explain(findings: list[Finding]) -> str:
    return "\n".join(f"{f.rule} at {f.location()}: {f.message}" for f in findings)


# --- the table itself ------------------------------------------------------------------------


def test_every_rule_has_a_proof() -> None:
    proven = {proof.rule for proof in FAULT_CASES.values()}
    unproven = sorted(set(RULES) - proven)
    assert unproven == [], f"rules no broken server proves: {unproven}"


def test_every_proof_names_a_known_fault_rule_and_scenario() -> None:
    for fault, proof in FAULT_CASES.items():
        assert fault in FAULTS, fault
        assert proof.rule in RULES or proof.rule.startswith(_CONSEQUENCE_PREFIXES), fault
        for name in proof.scenarios:
            assert name in CATALOGUE or name == PACED_SCENARIO.name, (fault, name)
    assert all(variation in FAULTS for variation in LEGAL_VARIATIONS + RULE_LEGAL_VARIATIONS)


# --- through the proxy -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def transparent(reference_url: str, fake_llm_url: str) -> list[Finding]:
    """What the suite says about the reference server through the proxy with no fault."""
    names = tuple(
        sorted(
            {
                name
                for proof in FAULT_CASES.values()
                for name in proof.scenarios
                if name in CATALOGUE
            }
            | set(VARIATION_SCENARIOS)
        )
    )
    with running_proxy(reference_url, "none") as url:
        findings = _findings(asyncio.run(_check(url, fake_llm_url, names)))
        findings += asyncio.run(_paced_findings(url, fake_llm_url))
    return findings


def test_reference_server_through_a_transparent_proxy_passes(transparent: list[Finding]) -> None:
    failures = [finding for finding in transparent if finding.is_failure]
    assert failures == [], _explain(failures)


async def _findings_through(fault: str, proof: Proof, reference_url: str, llm_url: str):  # type: ignore[no-untyped-def]
    with running_proxy(reference_url, fault) as url:
        if proof.scenarios == (PACED_SCENARIO.name,):
            return None, await _paced_findings(url, llm_url)
        result = await _check(url, llm_url, proof.scenarios, proof.step_timeout)
    return result, _findings(result)


@pytest.mark.parametrize("fault", list(FAULT_CASES))
async def test_fault_is_caught_by_the_rule_that_names_it(
    fault: str, reference_url: str, fake_llm_url: str
) -> None:
    proof = FAULT_CASES[fault]
    result, findings = await _findings_through(fault, proof, reference_url, fake_llm_url)
    named = [finding for finding in findings if finding.rule == proof.rule]
    assert named, f"{fault} not caught by {proof.rule}:\n{_explain(findings)}"
    # No other protocol rule may fire: only consequences (replay, an unfinished scenario).
    protocol_rules = {f.rule for f in findings if not f.rule.startswith(_CONSEQUENCE_PREFIXES)}
    expected_rules = set() if proof.rule.startswith(_CONSEQUENCE_PREFIXES) else {proof.rule}
    assert protocol_rules == expected_rules, _explain(findings)
    if proof.rule in RULES and RULES[proof.rule].severity is not Severity.MUST:
        assert not any(finding.is_failure for finding in named)  # a warning, as it should be
    else:
        assert all(finding.is_failure for finding in named)
        assert result is None or result.exit_code == 1


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


@pytest.mark.parametrize("variation", RULE_LEGAL_VARIATIONS)
async def test_legal_variation_breaks_no_rule(
    variation: str, reference_url: str, fake_llm_url: str
) -> None:
    with running_proxy(reference_url, variation) as url:
        result = await _check(url, fake_llm_url, VARIATION_SCENARIOS)
        findings = _findings(result) + await _paced_findings(url, fake_llm_url)
    rule_findings = [f for f in findings if f.rule in RULES]
    assert rule_findings == [], _explain(rule_findings)
    # And the replay comparison passes them: at most a warning (a missing charset, a key
    # langgraph dev does not send), never a failure.
    failures = [f for f in findings if f.is_failure]
    assert failures == [], _explain(failures)
    assert result is not None and result.exit_code == 0


async def test_legal_variations_keep_tokens_incremental(
    reference_url: str, fake_llm_url: str
) -> None:
    # Line endings, heartbeats and writes cut otherwise do not make a paced stream look
    # buffered, nor a spread one merged.
    for variation in ("cr_line_endings", "heartbeats", "split_writes", "packed_writes"):
        with running_proxy(reference_url, variation) as url:
            findings = await _paced_findings(url, fake_llm_url)
        assert findings == [], f"{variation}:\n{_explain(findings)}"


async def test_cr_framed_server_that_pauses_after_events_passes_cancel_and_multitask(
    reference_url: str, fake_llm_url: str
) -> None:
    # The runs of these scenarios pause (a paced model) right after their first events; framed
    # with CR alone, those events must be seen during the pause, or "the run is under way"
    # is never reached.
    names = ("cancel_interrupt", "multitask_interrupt", "multitask_enqueue")
    with running_proxy(reference_url, "cr_line_endings") as url:
        result = await _check(url, fake_llm_url, names, timeout=20.0)
    findings = _findings(result)
    assert [f for f in findings if f.is_failure] == [], _explain(findings)
    assert result.exit_code == 0
