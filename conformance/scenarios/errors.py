"""Every documented error status before a stream starts: 404, 409 and each cause of 422.

The busy-thread 409 lives with the multitask scenarios (``multitask_reject``); the model
failure inside a stream lives with the runs (``llm_failure_*``).
"""

from __future__ import annotations

from conformance.scenarios._build import (
    GREETING,
    create_thread,
    get,
    get_run,
    run_body,
    stream_run,
)
from conformance.scenarios.model import NewId, Request, Scenario, Step


def _error(name: str, description: str, steps: tuple[Step, ...]) -> Scenario:
    return Scenario(
        name=name, description=description, capability="errors", model_dependent=False, steps=steps
    )


def _not_found() -> list[Scenario]:
    return [
        _error(
            "error_unknown_thread",
            "404 for a thread that does not exist: read it, stream a run on it, wait on it",
            (
                NewId("missing_id"),
                get("get", "/threads/{missing_id}", expect_status=404),
                stream_run(
                    "stream",
                    run_body("weather_agent", GREETING),
                    path="/threads/{missing_id}/runs/stream",
                    expect_status=404,
                ),
                Request(
                    name="wait",
                    method="POST",
                    path="/threads/{missing_id}/runs/wait",
                    body=run_body("weather_agent", GREETING),
                    expect_status=404,
                ),
            ),
        ),
        _error(
            "error_unknown_assistant",
            "404 for an assistant id that does not exist: read it, run it",
            (
                NewId("missing_id"),
                get("get", "/assistants/{missing_id}", expect_status=404),
                create_thread(),
                stream_run(
                    "stream",
                    run_body("{missing_id}", GREETING),
                    expect_status=404,
                ),
            ),
        ),
        _error(
            "error_unknown_run",
            "404 for a run that does not exist on an existing thread: get and cancel; /join "
            "answers 200 with __error__ HTTPException '404: Run not found'",
            (
                NewId("missing_id"),
                create_thread(),
                get("get", "/threads/{thread_id}/runs/{missing_id}", expect_status=404),
                get("join", "/threads/{thread_id}/runs/{missing_id}/join"),
                Request(
                    name="cancel",
                    method="POST",
                    path="/threads/{thread_id}/runs/{missing_id}/cancel",
                    expect_status=404,
                ),
            ),
        ),
        _error(
            "error_cancel_finished_run",
            "cancelling a run that already finished",
            (
                create_thread(),
                stream_run(
                    "stream",
                    run_body("custom_events", GREETING, model=False, stream_mode=["updates"]),
                ),
                get_run(),
                Request(
                    name="cancel",
                    method="POST",
                    path="/threads/{thread_id}/runs/{run_id}/cancel",
                    expect_status=404,
                ),
            ),
        ),
    ]


def _conflicts() -> list[Scenario]:
    return [
        _error(
            "error_thread_exists",
            "409 when creating a thread whose id exists; 200 with if_exists: do_nothing",
            (
                NewId("thread_id"),
                Request(
                    name="create",
                    method="POST",
                    path="/threads",
                    body={"thread_id": "{thread_id}"},
                ),
                Request(
                    name="create_again",
                    method="POST",
                    path="/threads",
                    body={"thread_id": "{thread_id}"},
                    expect_status=409,
                ),
                Request(
                    name="create_do_nothing",
                    method="POST",
                    path="/threads",
                    body={"thread_id": "{thread_id}", "if_exists": "do_nothing"},
                ),
            ),
        ),
        _error(
            "error_assistant_exists",
            "409 when creating an assistant whose id exists; 200 with if_exists: do_nothing",
            (
                NewId("assistant_id"),
                Request(
                    name="create",
                    method="POST",
                    path="/assistants",
                    body={"assistant_id": "{assistant_id}", "graph_id": "custom_events"},
                ),
                Request(
                    name="create_again",
                    method="POST",
                    path="/assistants",
                    body={"assistant_id": "{assistant_id}", "graph_id": "custom_events"},
                    expect_status=409,
                ),
                Request(
                    name="create_do_nothing",
                    method="POST",
                    path="/assistants",
                    body={
                        "assistant_id": "{assistant_id}",
                        "graph_id": "custom_events",
                        "if_exists": "do_nothing",
                    },
                ),
                Request(
                    name="delete",
                    method="DELETE",
                    path="/assistants/{assistant_id}",
                    expect_status=204,
                ),
            ),
        ),
    ]


def _validation() -> list[Scenario]:
    return [
        _error(
            "error_invalid_json",
            "422 for a body that is not JSON",
            (
                create_thread(),
                Request(
                    name="stream",
                    method="POST",
                    path="/threads/{thread_id}/runs/stream",
                    raw_body=b'{"assistant_id": "weather_agent", "input": ',
                    headers=(("accept", "text/event-stream"),),
                    expect_status=422,
                ),
                Request(
                    name="create_thread_invalid",
                    method="POST",
                    path="/threads",
                    raw_body=b"not json",
                    expect_status=422,
                ),
            ),
        ),
        _error(
            "error_bad_stream_mode",
            "422 for a stream_mode that does not exist",
            (
                create_thread(),
                stream_run(
                    "stream",
                    run_body("weather_agent", GREETING, stream_mode=["values", "nonsense"]),
                    expect_status=422,
                ),
            ),
        ),
        _error(
            "error_missing_assistant_id",
            "422 for a run without assistant_id",
            (
                create_thread(),
                stream_run(
                    "stream",
                    {"input": {"messages": [{"role": "user", "content": GREETING}]}},
                    expect_status=422,
                ),
            ),
        ),
        _error(
            "error_non_uuid_path",
            "a path id that is not a UUID: 422 on reads, but 400 on POST .../runs/stream; "
            "ids are opaque, so a server whose ids are not UUIDs may answer 404 (no such id)",
            (
                get("get_thread", "/threads/not-a-uuid", expect_status=422, also_accept=(404,)),
                get(
                    "get_assistant",
                    "/assistants/not-a-uuid",
                    expect_status=422,
                    also_accept=(404,),
                ),
                stream_run(
                    "stream",
                    run_body("weather_agent", GREETING),
                    path="/threads/not-a-uuid/runs/stream",
                    expect_status=400,
                    also_accept=(404,),
                ),
            ),
        ),
        _error(
            "error_unknown_graph",
            "a graph id that is not served: 422 as a run's assistant_id (ids are opaque: 404, "
            "no such assistant, is as good), 404 as an assistant's graph_id",
            (
                create_thread(),
                stream_run(
                    "stream",
                    run_body("no_such_graph", GREETING),
                    expect_status=422,
                    also_accept=(404,),
                ),
                Request(
                    name="create_assistant",
                    method="POST",
                    path="/assistants",
                    body={"graph_id": "no_such_graph"},
                    expect_status=404,
                ),
            ),
        ),
    ]


SCENARIOS: tuple[Scenario, ...] = (*_not_found(), *_conflicts(), *_validation())
