"""The scenario catalogue: every session the suite records from ``langgraph dev`` and replays
against a target, by name, in a stable order.

Scenarios are data (``model``); ``conformance.client.run_scenario`` executes one. Each module
here holds one area: ``streaming`` (stream modes), ``runs`` (lifecycles), ``resources``
(assistants, threads, store), ``errors`` (error statuses), ``prebuilt`` (the prebuilt
ReAct agent) and ``cross_origin`` (a browser page on another origin).
"""

from __future__ import annotations

from conformance.scenarios import cross_origin, errors, prebuilt, resources, runs, streaming
from conformance.scenarios.model import (
    RECORDED_STEPS,
    Await,
    Capture,
    EventsWith,
    FromEvent,
    FromEventId,
    FromHeader,
    FromJson,
    NewId,
    Poll,
    Request,
    Scenario,
    Step,
    Stream,
    WaitForEvents,
)

__all__ = [
    "CATALOGUE",
    "RECORDED_STEPS",
    "Await",
    "Capture",
    "EventsWith",
    "FromEvent",
    "FromEventId",
    "FromHeader",
    "FromJson",
    "NewId",
    "Poll",
    "Request",
    "Scenario",
    "Step",
    "Stream",
    "WaitForEvents",
    "select",
]


def _catalogue() -> dict[str, Scenario]:
    catalogue: dict[str, Scenario] = {}
    for scenario in (
        *streaming.SCENARIOS,
        *prebuilt.SCENARIOS,
        *runs.SCENARIOS,
        *resources.SCENARIOS,
        *errors.SCENARIOS,
        *cross_origin.SCENARIOS,
    ):
        if scenario.name in catalogue:
            raise ValueError(f"scenario name {scenario.name!r} is used twice")
        catalogue[scenario.name] = scenario
    return catalogue


CATALOGUE: dict[str, Scenario] = _catalogue()


def select(names: list[str] | None) -> list[Scenario]:
    """The named scenarios in catalogue order (all of them for None or an empty list).

    Raises ValueError naming every unknown name.
    """
    if not names:
        return list(CATALOGUE.values())
    unknown = [name for name in names if name not in CATALOGUE]
    if unknown:
        raise ValueError(
            f"unknown scenario(s): {', '.join(unknown)}; known: {', '.join(CATALOGUE)}"
        )
    wanted = set(names)
    return [scenario for name, scenario in CATALOGUE.items() if name in wanted]
