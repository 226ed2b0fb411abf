"""Small constructors shared by the catalogue modules, so each scenario reads as its story."""

from __future__ import annotations

from typing import Any

from conformance.scenarios.model import (
    Capture,
    FromEvent,
    FromJson,
    Poll,
    Request,
    Stream,
)

GREETING = "hi"
WEATHER_QUESTION = "What is the weather in Paris?"
# The fake LLM waits this long before each streamed token, so the greeting (about ten
# chunks) keeps a run busy for a few seconds: long enough to act on it while it runs.
SLOW_GREETING = "hi delay:200"

# Every scenario graph that calls a model reaches it through this configurable (base URL,
# and the model name and key when the check was given them).
MODEL_CONFIG: dict[str, Any] = {"configurable": "{llm_configurable}"}
# The fault scenarios' model: the same endpoint with the fake LLM (the ``fault:`` directives
# make it fail); in live mode a fake LLM the suite starts for them, since a real model obeys
# no directive.
FAILING_MODEL_CONFIG: dict[str, Any] = {"configurable": "{failing_llm_configurable}"}

RUN_ID_FROM_METADATA = FromEvent("run_id", "metadata", "/run_id")


def user_input(text: str) -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": text}]}


def run_body(
    graph: str,
    text: str | None,
    *,
    model: bool = True,
    model_config: dict[str, Any] = MODEL_CONFIG,
    **extra: Any,
) -> dict[str, Any]:
    """A run request body: the graph, one user message (or none) and the model's base URL."""
    body: dict[str, Any] = {"assistant_id": graph}
    if text is not None:
        body["input"] = user_input(text)
    if model:
        body["config"] = model_config
    body.update(extra)
    return body


def create_thread(name: str = "create_thread", **body: Any) -> Request:
    return Request(
        name=name,
        method="POST",
        path="/threads",
        body=body,
        captures=(FromJson("thread_id", "/thread_id"),),
    )


def stream_run(
    name: str,
    body: dict[str, Any],
    *,
    path: str = "/threads/{thread_id}/runs/stream",
    run_variable: str = "run_id",
    expect_status: int = 200,
    also_accept: tuple[int, ...] = (),
    disconnect_after_events: int | None = None,
    background: bool = False,
    headers: tuple[tuple[str, str], ...] = (("accept", "text/event-stream"),),
    run_deleted_under_it: bool = False,
) -> Stream:
    captures: tuple[Capture, ...] = ()
    if expect_status == 200:
        captures = (FromEvent(run_variable, "metadata", "/run_id"),)
    return Stream(
        name=name,
        method="POST",
        path=path,
        body=body,
        headers=headers,
        expect_status=expect_status,
        also_accept=also_accept,
        captures=captures,
        disconnect_after_events=disconnect_after_events,
        background=background,
        run_deleted_under_it=run_deleted_under_it,
    )


def get(
    name: str, path: str, *, expect_status: int = 200, also_accept: tuple[int, ...] = ()
) -> Request:
    return Request(
        name=name, method="GET", path=path, expect_status=expect_status, also_accept=also_accept
    )


def get_run(name: str = "get_run", run_variable: str = "run_id") -> Request:
    return get(name, f"/threads/{{thread_id}}/runs/{{{run_variable}}}")


def get_thread(name: str = "get_thread") -> Request:
    return get(name, "/threads/{thread_id}")


def get_state(name: str = "get_state") -> Request:
    return get(name, "/threads/{thread_id}/state")


def poll_run(name: str, until: tuple[str, ...], run_variable: str = "run_id") -> Poll:
    return Poll(name=name, path=f"/threads/{{thread_id}}/runs/{{{run_variable}}}", until=until)


def poll_thread(name: str, until: tuple[str, ...]) -> Poll:
    return Poll(name=name, path="/threads/{thread_id}", until=until)
