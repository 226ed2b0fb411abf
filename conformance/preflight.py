"""Pre-flight: can the check run at all? Made before any scenario, so that a target (or a model
endpoint) that cannot serve makes the run exit 2 with the reason, never a list of findings
charged to the target.

One async function per check, in ``CHECKS``, each taking the ``PreflightContext`` and returning
a sentence saying what it found, or raising ``PreflightFailure`` with the reason. A check may
leave something in the context for the run (``check_assistants`` leaves the assistant plan).
``conformance check`` runs them before the scenarios; ``conformance doctor`` runs them alone
and prints the sentences. To add a check, write one more function and put it in ``CHECKS``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from conformance.model_preflight import (
    SCENARIO_GRAPHS_DEFAULT_MODEL,
    ModelEndpointUnavailable,
)
from conformance.model_preflight import check_model_endpoint as ask_model_endpoint
from conformance.target_setup import (
    AssistantPlan,
    SetupError,
    graphs_needed,
    prepare_assistants,
    scenario_graphs,
)

_PROBE_TIMEOUT = 5.0


class PreflightFailure(RuntimeError):
    """The check cannot run; the message names what cannot serve and why."""


@dataclass(slots=True)
class PreflightContext:
    """What the checks look at, and what they leave for the run."""

    url: str
    http: httpx.AsyncClient
    """A client for the target: its base URL and headers set."""
    scenarios: Sequence[Any]
    llm_url: str = ""
    llm_mode: str = "fake"
    llm_model: str | None = None
    llm_api_key: str | None = None
    check_model: bool = False
    """Ask the model endpoint (live mode)."""
    notes: list[str] = field(default_factory=list)
    """What the report should say about what the checks found (a model not listed)."""
    named_assistants: Mapping[str, str] = field(default_factory=dict)
    graph_map: Mapping[str, str] = field(default_factory=dict)
    create_assistants: bool = True
    plan: AssistantPlan = field(default_factory=AssistantPlan)
    """Filled by ``check_assistants``; the run deletes ``plan.created`` when it ends."""


async def check_target_answers(context: PreflightContext) -> str:
    """Any HTTP answer to ``GET /ok`` means the target is there; only a failure to connect is
    fatal (a server without ``/ok`` still answers 404)."""
    try:
        response = await context.http.get("/ok", timeout=_PROBE_TIMEOUT)
    except httpx.HTTPError as error:
        raise PreflightFailure(
            f"target {context.url} is unreachable ({type(error).__name__}: {error})"
        ) from error
    return f"target {context.url} answers (GET /ok: {response.status_code})"


async def check_assistants(context: PreflightContext) -> str:
    """Every graph the selected scenarios run has an assistant: the target resolves the graph
    id, one was named with ``--assistant``, or the suite created one (deleted after the run)."""
    needed = graphs_needed(context.scenarios, scenario_graphs())
    if not needed:
        return "assistants: the selected scenarios run no graph"
    try:
        context.plan = await prepare_assistants(
            context.http,
            needed,
            named=context.named_assistants,
            graph_map=context.graph_map,
            create=context.create_assistants,
        )
    except SetupError as error:
        raise PreflightFailure(str(error)) from error
    except httpx.HTTPError as error:
        raise PreflightFailure(
            f"target {context.url} failed while the suite looked for assistants "
            f"({type(error).__name__}: {error})"
        ) from error
    by_id = [
        graph
        for graph in needed
        if graph not in context.plan.assistants and graph not in context.plan.unserved
    ]
    parts = []
    if by_id:
        parts.append(f"run by graph id: {', '.join(by_id)}")
    for graph, assistant in context.plan.assistants.items():
        how = "created by the suite" if assistant in context.plan.created else "named"
        parts.append(f"{graph} -> {assistant} ({how})")
    for graph in context.plan.unserved:
        parts.append(f"{graph} not served (its scenarios NOT TESTED)")
    return "assistants: " + "; ".join(parts)


async def check_model_endpoint(context: PreflightContext) -> str:
    """The model endpoint the graphs will call lists its models and answers a one-token
    completion by the model they will name (``conformance.model_preflight``)."""
    if not context.check_model or not context.llm_url:
        return "model endpoint: not asked (the fake LLM)"
    model = context.llm_model or SCENARIO_GRAPHS_DEFAULT_MODEL
    try:
        status = await ask_model_endpoint(context.llm_url, model=model, api_key=context.llm_api_key)
    except ModelEndpointUnavailable as error:
        raise PreflightFailure(str(error)) from error
    if status.note:
        context.notes.append(status.note)
    served = ", ".join(status.served_models) or "no model"
    return f"model endpoint {context.llm_url} answers for model {model!r} (it lists {served})"


Check = Callable[[PreflightContext], Awaitable[str]]

CHECKS: list[Check] = [check_target_answers, check_model_endpoint, check_assistants]
"""In order: a later check may rely on an earlier one (assistants need a target that answers)."""


async def run_preflight(context: PreflightContext, checks: Sequence[Check] = ()) -> list[str]:
    """Run the checks (default ``CHECKS``) in order; the sentences of those that passed.
    Raises ``PreflightFailure`` at the first that fails."""
    return [await check(context) for check in (checks or CHECKS)]
