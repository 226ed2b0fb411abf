"""When did a recorded stream close, relative to the other exchanges of its transcript?

A transcript lists exchanges in the order of the scenario's steps, not in time: a background
stream (``Stream(background=True)``) sits at its step's place but may close long after the
steps that follow it, until an ``Await`` of it. The run-status rules must only look at
requests made after the stream closed, so this module says, for each exchange, from which
exchange on the stream is known to be closed: the next one for an ordinary stream, the first
one recorded after the ``Await`` for a background stream, none for a background stream never
awaited. It reads the scenario catalogue (plain data); a transcript of a scenario it does not
know is taken as sequential.
"""

from __future__ import annotations

from collections.abc import Sequence

from conformance.transcript import Transcript


def _background_closings(scenario_name: str) -> dict[str, str | None] | None:
    """Background stream step -> the first recorded step after its ``Await`` (None: none)."""
    try:
        from conformance.scenarios import CATALOGUE
        from conformance.scenarios.model import RECORDED_STEPS, Await, Stream
    except Exception:  # the catalogue is another package: without it, assume sequential
        return None
    scenario = CATALOGUE.get(scenario_name)
    if scenario is None:
        return None
    steps: Sequence[object] = scenario.steps
    closings: dict[str, str | None] = {}
    for position, step in enumerate(steps):
        if not (isinstance(step, Stream) and step.background):
            continue
        awaited = next(
            (
                later
                for later in range(position + 1, len(steps))
                if isinstance(steps[later], Await) and steps[later].step == step.name  # type: ignore[attr-defined]
            ),
            None,
        )
        following = (
            []
            if awaited is None
            else [s.name for s in steps[awaited + 1 :] if isinstance(s, RECORDED_STEPS)]  # type: ignore[attr-defined]
        )
        closings[step.name] = following[0] if following else None
    return closings


def closed_before(transcript: Transcript) -> list[int]:
    """For each exchange, the index of the first exchange made after it closed (the number
    of exchanges when no recorded exchange is known to follow its close)."""
    exchanges = transcript.exchanges
    closings = _background_closings(transcript.scenario) or {}
    positions = {exchange.step: index for index, exchange in enumerate(exchanges)}
    result = []
    for index, exchange in enumerate(exchanges):
        if exchange.step not in closings:
            result.append(index + 1)
            continue
        following = closings[exchange.step]
        result.append(positions.get(following, len(exchanges)) if following else len(exchanges))
    return result
