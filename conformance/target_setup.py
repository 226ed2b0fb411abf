"""Setting up a target for the scenarios: the assistants their runs name.

The scenarios run graphs by graph id (``"assistant_id": "weather_agent"``), which a server that
keeps a system assistant per graph resolves, as ``langgraph dev`` does. A server without
system assistants 404s those runs, so before the check the suite finds, per graph the selected
scenarios run, an assistant to use:

- the one named with ``--assistant GRAPH=ASSISTANT_ID`` (it must exist);
- else the graph id itself, when the target has the graph's system assistant (``POST
  /assistants/search`` with ``metadata.created_by: system`` finds it), as ``langgraph dev``;
- else one it creates (``POST /assistants``, marked ``created_by: langgraph-stream-conformance``)
  and deletes after the check, also when the check fails or is interrupted.

The scenarios' run bodies then name that assistant (``with_assistants``).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from conformance import data
from conformance.scenarios.model import Request, Scenario, Stream
from conformance.transcript import Transcript

CREATED_BY = "langgraph-stream-conformance"
"""``metadata.created_by`` of the assistants the suite creates, so a person can find leftovers."""


class SetupError(RuntimeError):
    """The target cannot be set up for the scenarios; the message says what it answered."""


def scenario_graphs() -> tuple[str, ...]:
    """The graph ids ``langgraph.json`` serves: the only values of a run's ``assistant_id``
    that name a graph (others are deliberate errors such as ``no_such_graph``)."""
    config = json.loads(data.langgraph_config().read_text(encoding="utf-8"))
    return tuple(config["graphs"])


def parse_assistant(text: str, graphs: Sequence[str]) -> tuple[str, str]:
    """``'GRAPH=ASSISTANT_ID'`` -> ``(graph, assistant id)``; the graph must be a scenario
    graph."""
    graph, separator, assistant = text.partition("=")
    graph, assistant = graph.strip(), assistant.strip()
    if not separator or not graph or not assistant:
        raise ValueError(f"--assistant {text!r}: expected 'GRAPH=ASSISTANT_ID'")
    if graph not in graphs:
        raise ValueError(
            f"--assistant {text!r}: {graph!r} is not a scenario graph; known: {', '.join(graphs)}"
        )
    return graph, assistant


def _run_assistant(step: Any, graphs: Iterable[str]) -> str | None:
    if not isinstance(step, Request | Stream) or not isinstance(step.body, dict):
        return None
    value = step.body.get("assistant_id")
    return value if isinstance(value, str) and value in set(graphs) else None


def graphs_needed(scenarios: Iterable[Scenario], graphs: Sequence[str]) -> list[str]:
    """The graphs the scenarios' runs name as their ``assistant_id``, in first-use order."""
    needed: list[str] = []
    for scenario in scenarios:
        for step in scenario.steps:
            graph = _run_assistant(step, graphs)
            if graph is not None and graph not in needed:
                needed.append(graph)
    return needed


def with_assistants(scenario: Scenario, assistants: Mapping[str, str]) -> Scenario:
    """The scenario with each run's graph id replaced by the assistant chosen for it."""
    if not assistants:
        return scenario
    steps = []
    for step in scenario.steps:
        graph = _run_assistant(step, assistants)
        if graph is not None and isinstance(step, Request | Stream):
            body = {**step.body, "assistant_id": assistants[graph]}
            step = dataclasses.replace(step, body=body)
        steps.append(step)
    return dataclasses.replace(scenario, steps=tuple(steps))


def as_written(transcript: Transcript, assistants: Mapping[str, str]) -> Transcript:
    """The transcript with each run body naming the graph again, as the scenario wrote it and
    as the recording has it: the assistant chosen for the target is setup, not behaviour, and
    the comparison numbers ids by first appearance."""
    graph_of = {assistant: graph for graph, assistant in assistants.items()}
    if not graph_of:
        return transcript
    exchanges = []
    for exchange in transcript.exchanges:
        body = exchange.request.body
        if isinstance(body, dict) and body.get("assistant_id") in graph_of:
            request = dataclasses.replace(
                exchange.request, body={**body, "assistant_id": graph_of[body["assistant_id"]]}
            )
            exchange = dataclasses.replace(exchange, request=request)
        exchanges.append(exchange)
    return dataclasses.replace(transcript, exchanges=exchanges)


@dataclass(slots=True)
class AssistantPlan:
    """Which assistant each graph's runs use, and what the suite created (to delete)."""

    assistants: dict[str, str] = field(default_factory=dict)
    """graph -> assistant id, for graphs that do not run by their own id."""
    created: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    unserved: dict[str, str] = field(default_factory=dict)
    """graph -> why the target does not serve it (it has no assistant for it and refused to
    create one, while it serves other graphs): that graph's scenarios are NOT TESTED."""


def _answer(response: httpx.Response) -> str:
    body = response.text.strip().replace("\n", " ")
    return f"{response.status_code} {body[:200]}".strip()


async def prepare_assistants(
    http: httpx.AsyncClient,
    graphs: Sequence[str],
    *,
    named: Mapping[str, str],
    graph_map: Mapping[str, str],
    create: bool,
) -> AssistantPlan:
    """Find or create an assistant per graph. Raises ``SetupError`` (after deleting what it
    created) when a graph has none and none can be made."""
    plan = AssistantPlan()
    try:
        for graph in graphs:
            served = graph_map.get(graph, graph)
            if graph in named:
                response = await http.get(f"/assistants/{named[graph]}")
                if response.status_code != 200:
                    raise SetupError(
                        f"--assistant {graph}={named[graph]}: GET /assistants/{named[graph]} "
                        f"answered {_answer(response)}"
                    )
                plan.assistants[graph] = named[graph]
                continue
            probe = await http.post(
                "/assistants/search",
                json={"graph_id": served, "metadata": {"created_by": "system"}, "limit": 1},
            )
            if _found(probe):
                continue
            if not create:
                raise SetupError(
                    f"the target has no system assistant for graph {served!r} (POST "
                    f"/assistants/search answered {_answer(probe)}); name one with --assistant "
                    f"{graph}=ASSISTANT_ID or drop --no-create-assistants"
                )
            created = await http.post(
                "/assistants",
                json={
                    "graph_id": served,
                    "name": f"conformance {graph}",
                    "metadata": {"created_by": CREATED_BY},
                },
            )
            assistant_id = _assistant_id(created)
            if assistant_id is None:
                plan.unserved[graph] = (
                    f"the target has no system assistant for graph {served!r} (POST "
                    f"/assistants/search answered {_answer(probe)}) and would not create one (POST "
                    f"/assistants answered {_answer(created)}); serve the graph, map one of "
                    f"its own with --graph {graph}=THEIRS, or name an assistant with "
                    f"--assistant {graph}=ASSISTANT_ID"
                )
                continue
            plan.created.append(assistant_id)
            plan.assistants[graph] = assistant_id
        if plan.unserved and len(plan.unserved) == len(graphs):
            # Not one graph could be set up: the target (or its auth) is not ready, which says
            # nothing about the graphs; the check cannot run.
            raise SetupError(next(iter(plan.unserved.values())))
        if plan.created:
            plan.notes.append(
                f"the target had no assistant for {len(plan.created)} graph(s): the suite "
                f"created {', '.join(f'{g}={a}' for g, a in plan.assistants.items() if a in plan.created)} "
                "and deleted them afterwards"
            )
        named_used = {g: a for g, a in plan.assistants.items() if a not in plan.created}
        if named_used:
            plan.notes.append(
                "runs used the named assistants "
                + ", ".join(f"{graph}={assistant}" for graph, assistant in named_used.items())
            )
    except BaseException:
        await delete_assistants(http, plan.created)
        raise
    return plan


def _found(response: httpx.Response) -> bool:
    """A search that answered a non-empty list."""
    if response.status_code != 200:
        return False
    try:
        body = response.json()
    except ValueError:
        return False
    return isinstance(body, list) and bool(body)


def _assistant_id(response: httpx.Response) -> str | None:
    if response.status_code != 200:
        return None
    try:
        body = response.json()
    except ValueError:
        return None
    value = body.get("assistant_id") if isinstance(body, dict) else None
    return value if isinstance(value, str) and value else None


async def delete_assistants(http: httpx.AsyncClient, assistant_ids: Sequence[str]) -> list[str]:
    """Delete the assistants the suite created; returns sentences for those it could not."""
    problems = []
    for assistant_id in assistant_ids:
        try:
            response = await http.delete(f"/assistants/{assistant_id}")
        except httpx.HTTPError as error:
            problems.append(f"could not delete assistant {assistant_id}: {error}")
            continue
        if response.status_code not in (200, 204, 404):
            problems.append(f"could not delete assistant {assistant_id}: {_answer(response)}")
    return problems
