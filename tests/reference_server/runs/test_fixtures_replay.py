"""Every recorded ``langgraph dev`` session in fixtures/ replayed against the reference server
and compared after normalising volatile fields (conformance.normalise + conformance.compare),
on both storage backends: in memory and on the SQLite default.

A divergence fails the test unless ``KNOWN_DIFFERENCES`` lists it with its reason; a listed
difference that no longer shows fails too (it is stale: remove it), so the list only shrinks.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from run_helpers import start_reference_server

from conformance.client import run_scenario
from conformance.compare import compare
from conformance.findings import Finding
from conformance.normalise import normalise
from conformance.scenarios import CATALOGUE
from conformance.transcript import load

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures"
FIXTURE_PATHS = sorted(FIXTURES.glob("*.json"))

# (scenario, step, rule, pointer) -> why the reference server differs from the recording.
KNOWN_DIFFERENCES: dict[tuple[str, str, str, str], str] = {
    # None today. An entry needs its reason; an entry no longer seen fails as stale.
}


@pytest.fixture(scope="session", params=["memory", "sqlite"])
def replay_server_url(
    request: pytest.FixtureRequest, fake_llm_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    if request.param == "memory":
        yield request.getfixturevalue("reference_server_url")
        return
    database = tmp_path_factory.mktemp("replay") / "state.sqlite"
    server = start_reference_server(database, fake_llm_url)
    try:
        yield server.url
    finally:
        server.__exit__(None, None, None)


def _key(finding: Finding) -> tuple[str, str, str, str]:
    return (finding.scenario, finding.step, finding.rule, finding.pointer)


@pytest.mark.asyncio(loop_scope="session")
@pytest.mark.parametrize("fixture_path", FIXTURE_PATHS, ids=[path.stem for path in FIXTURE_PATHS])
async def test_fixture_replays_like_langgraph_dev(
    fixture_path: Path, replay_server_url: str, fake_llm_url: str
) -> None:
    scenario = CATALOGUE.get(fixture_path.stem)
    assert scenario is not None, f"fixture {fixture_path.name} has no scenario in the catalogue"
    fixture = load(fixture_path)
    actual = await run_scenario(scenario, replay_server_url, llm_url=fake_llm_url, timeout=30)
    findings = [
        finding
        for finding in compare(normalise(fixture), normalise(actual), compare_values=True)
        if finding.is_failure
    ]
    unexplained = [finding for finding in findings if _key(finding) not in KNOWN_DIFFERENCES]
    assert not unexplained, "\n".join(
        f"{finding.rule} at {finding.location()}: {finding.message} "
        f"(expected {finding.expected!r}, got {finding.actual!r})"
        for finding in unexplained
    )
    seen = {_key(finding) for finding in findings}
    stale = [key for key in KNOWN_DIFFERENCES if key[0] == fixture_path.stem and key not in seen]
    assert not stale, f"listed differences no longer seen (remove them): {stale}"


def test_fixtures_exist() -> None:
    assert FIXTURE_PATHS, f"no fixtures in {FIXTURES}"
