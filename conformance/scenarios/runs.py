"""Run lifecycles: stateless and waited runs, background runs and joins, resumable streams,
cancellation, multitask strategies, interrupts, subgraphs, model failures."""

from __future__ import annotations

from typing import Any

from conformance.scenarios._build import (
    FAILING_MODEL_CONFIG,
    GREETING,
    SLOW_GREETING,
    WEATHER_QUESTION,
    create_thread,
    get,
    get_run,
    get_state,
    get_thread,
    poll_run,
    poll_thread,
    run_body,
    stream_run,
)
from conformance.scenarios.model import (
    Await,
    EventsWith,
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


def _stateless() -> list[Scenario]:
    return [
        Scenario(
            name="stateless_runs_stream",
            description="POST /runs/stream without a thread: a temporary thread, values mode",
            capability="stateless_runs",
            model_dependent=True,
            steps=(
                stream_run(
                    "stream",
                    run_body("weather_agent", WEATHER_QUESTION, stream_mode=["values", "updates"]),
                    path="/runs/stream",
                ),
            ),
        ),
        Scenario(
            name="stateless_runs_wait",
            description="POST /runs/wait without a thread: the final values as JSON",
            capability="stateless_runs",
            model_dependent=True,
            steps=(
                Request(
                    name="wait",
                    method="POST",
                    path="/runs/wait",
                    body=run_body("weather_agent", WEATHER_QUESTION),
                ),
            ),
        ),
    ]


def _waits_and_joins() -> list[Scenario]:
    return [
        Scenario(
            name="thread_runs_wait",
            description="POST /threads/{id}/runs/wait, then the run list, state and history",
            capability="runs",
            model_dependent=True,
            steps=(
                create_thread(),
                Request(
                    name="wait",
                    method="POST",
                    path="/threads/{thread_id}/runs/wait",
                    body=run_body("weather_agent", WEATHER_QUESTION),
                    captures=(
                        FromHeader(
                            "run_id", "content-location", r"/runs/(?P<value>[0-9a-f-]+)(?:/|$)"
                        ),
                    ),
                ),
                get_run(),
                get("list_runs", "/threads/{thread_id}/runs"),
                get_thread(),
                get_state(),
                Request(
                    name="history",
                    method="POST",
                    path="/threads/{thread_id}/history",
                    body={"limit": 10},
                ),
            ),
        ),
        Scenario(
            name="background_run_join",
            description="POST /threads/{id}/runs (background), /join waits for its values, "
            "then the join stream of the finished run",
            capability="join",
            model_dependent=True,
            steps=(
                create_thread(),
                Request(
                    name="create_run",
                    method="POST",
                    path="/threads/{thread_id}/runs",
                    body=run_body("weather_agent", WEATHER_QUESTION),
                    captures=(FromJson("run_id", "/run_id"),),
                ),
                get("join", "/threads/{thread_id}/runs/{run_id}/join"),
                get_run(),
                Stream(
                    name="join_stream_finished",
                    method="GET",
                    path="/threads/{thread_id}/runs/{run_id}/stream",
                ),
            ),
        ),
        Scenario(
            name="if_not_exists_create",
            description="a run on a thread id that does not exist yet, with if_not_exists: create",
            capability="runs",
            model_dependent=True,
            steps=(
                NewId("thread_id"),
                Request(
                    name="wait",
                    method="POST",
                    path="/threads/{thread_id}/runs/wait",
                    body=run_body("weather_agent", GREETING, if_not_exists="create"),
                ),
                get_thread(),
            ),
        ),
    ]


def _resumable() -> list[Scenario]:
    body = run_body(
        "weather_agent",
        WEATHER_QUESTION,
        stream_mode=["values", "updates"],
        stream_resumable=True,
    )
    return [
        Scenario(
            name="resumable_stream_rejoin",
            description="stream_resumable: disconnect after two events, let the run finish, "
            "rejoin with Last-Event-ID of the last event seen, then with -1 (everything)",
            capability="resumable_streams",
            model_dependent=True,
            steps=(
                create_thread(),
                Stream(
                    name="stream",
                    method="POST",
                    path="/threads/{thread_id}/runs/stream",
                    body=body,
                    # After the input's values event: the next event waits for the model, so
                    # it never shares the millisecond (and, upstream, the id) of this one.
                    # langgraph dev ids are <epoch ms>-0, and a replay "after" an id shared
                    # by two events loses the second.
                    disconnect_after_events=2,
                    captures=(
                        FromHeader(
                            "run_id", "content-location", r"/runs/(?P<value>[0-9a-f-]+)(?:/|$)"
                        ),
                        FromEventId("last_event_id", 1),
                    ),
                ),
                poll_run("run_finished", ("success", "error")),
                Stream(
                    name="rejoin_after_last_event",
                    method="GET",
                    path="/threads/{thread_id}/runs/{run_id}/stream",
                    headers=(
                        ("accept", "text/event-stream"),
                        ("last-event-id", "{last_event_id}"),
                    ),
                ),
                Stream(
                    name="rejoin_from_start",
                    method="GET",
                    path="/threads/{thread_id}/runs/{run_id}/stream",
                    headers=(("accept", "text/event-stream"), ("last-event-id", "-1")),
                ),
            ),
        ),
        Scenario(
            name="resumable_background_join_stream",
            description="a background run created with stream_resumable, joined after it "
            "finished with Last-Event-ID: -1 (the whole stream is replayed)",
            capability="resumable_streams",
            model_dependent=True,
            steps=(
                create_thread(),
                Request(
                    name="create_run",
                    method="POST",
                    path="/threads/{thread_id}/runs",
                    body=body,
                    captures=(FromJson("run_id", "/run_id"),),
                ),
                get("join", "/threads/{thread_id}/runs/{run_id}/join"),
                Stream(
                    name="join_stream",
                    method="GET",
                    path="/threads/{thread_id}/runs/{run_id}/stream",
                    headers=(("accept", "text/event-stream"), ("last-event-id", "-1")),
                ),
            ),
        ),
    ]


def _start_slow_streamed_run(*, rolled_back: bool = False) -> tuple[Step, ...]:
    # Cancel only once the run demonstrably wrote its first checkpoint (the first values event
    # arrived) and reads running: cancelling earlier races langgraph dev's own first write.
    return (
        create_thread(),
        stream_run(
            "stream",
            run_body("weather_agent", SLOW_GREETING, stream_mode=["values"]),
            background=True,
            run_deleted_under_it=rolled_back,
        ),
        WaitForEvents("stream", 2),
        poll_run("run_running", ("running",)),
    )


def _cancellation() -> list[Scenario]:
    return [
        Scenario(
            name="cancel_interrupt",
            description="cancel a running run (action interrupt): 202, run and thread interrupted",
            capability="cancel",
            model_dependent=True,
            steps=(
                *_start_slow_streamed_run(),
                Request(
                    name="cancel",
                    method="POST",
                    path="/threads/{thread_id}/runs/{run_id}/cancel",
                    expect_status=202,
                ),
                Await("stream"),
                poll_run("run_interrupted", ("interrupted",)),
                poll_thread("thread_settled", ("idle", "interrupted")),
            ),
        ),
        Scenario(
            name="cancel_rollback",
            description="cancel a running run with action=rollback: the run is deleted, the "
            "state discarded, and the thread takes a new run",
            capability="cancel",
            model_dependent=True,
            steps=(
                *_start_slow_streamed_run(rolled_back=True),
                Request(
                    name="cancel",
                    method="POST",
                    path="/threads/{thread_id}/runs/{run_id}/cancel?action=rollback",
                    expect_status=202,
                ),
                Await("stream"),
                Poll(
                    name="run_deleted",
                    path="/threads/{thread_id}/runs/{run_id}",
                    expect_status=404,
                ),
                # The thread's own status is not read here: langgraph dev leaves it "busy"
                # until the next run, which no client should rely on.
                get_state(),
                Request(
                    name="next_run",
                    method="POST",
                    path="/threads/{thread_id}/runs/wait",
                    body=run_body("weather_agent", GREETING),
                ),
                get_thread(),
            ),
        ),
        Scenario(
            name="cancel_interrupt_wait",
            description="cancel a running run with wait=1: 200 {} once the run is over, and "
            "the run and thread already read interrupted",
            capability="cancel",
            model_dependent=True,
            steps=(
                *_start_slow_streamed_run(),
                Request(
                    name="cancel",
                    method="POST",
                    path="/threads/{thread_id}/runs/{run_id}/cancel?wait=1",
                ),
                # No polling: with wait=1 the answer comes once the run has ended.
                get_run("run_interrupted"),
                get_thread("thread_interrupted"),
                Await("stream"),
            ),
        ),
        Scenario(
            name="cancel_rollback_wait",
            description="cancel a running run with wait=1 and action=rollback: 200 {} once the "
            "run is deleted and its state discarded",
            capability="cancel",
            model_dependent=True,
            steps=(
                *_start_slow_streamed_run(rolled_back=True),
                Request(
                    name="cancel",
                    method="POST",
                    path="/threads/{thread_id}/runs/{run_id}/cancel?wait=1&action=rollback",
                ),
                get("run_deleted", "/threads/{thread_id}/runs/{run_id}", expect_status=404),
                get_thread("thread_rolled_back"),
                Await("stream"),
                get_state(),
            ),
        ),
        Scenario(
            name="thread_deleted_mid_run",
            description="DELETE a thread while its run streams: 204, the stream ends with an "
            "error event, and the run and thread are gone",
            capability="cancel",
            model_dependent=True,
            steps=(
                *_start_slow_streamed_run(),
                Request(
                    name="delete_thread",
                    method="DELETE",
                    path="/threads/{thread_id}",
                    expect_status=204,
                ),
                Await("stream"),
                get("run_gone", "/threads/{thread_id}/runs/{run_id}", expect_status=404),
                get("thread_gone", "/threads/{thread_id}", expect_status=404),
            ),
        ),
        Scenario(
            name="on_disconnect_cancel",
            description="on_disconnect: cancel, the client disconnects after two events: "
            "the run ends interrupted",
            capability="cancel",
            model_dependent=True,
            steps=(
                create_thread(),
                stream_run(
                    "stream",
                    run_body(
                        "weather_agent",
                        SLOW_GREETING,
                        stream_mode=["values"],
                        on_disconnect="cancel",
                    ),
                    disconnect_after_events=2,
                ),
                poll_run("run_interrupted", ("interrupted",)),
                poll_thread("thread_settled", ("idle", "interrupted")),
            ),
        ),
    ]


def _thread_stream() -> list[Scenario]:
    # What the SDK's threads.join_stream sends by default.
    path = "/threads/{thread_id}/stream?stream_mode=run_modes"
    values_and_updates = ["values", "updates"]
    # Each run opens with a metadata event carrying ``attempt`` and closes with one carrying
    # ``status`` (run_done). With the recording's model a run has five events (metadata,
    # values, updates, values, metadata); a live model that calls a tool has more, so the
    # steps below count runs, not events.
    run_start = EventsWith("metadata", "attempt")
    run_done = EventsWith("metadata", "status")
    return [
        Scenario(
            name="thread_stream",
            description="GET /threads/{id}/stream: every event of the thread's runs from the "
            "moment of connection, each run closed by a run_done metadata event, all with ids; "
            "reconnecting with Last-Event-ID replays a resumable run's events after it",
            capability="join",
            model_dependent=True,
            steps=(
                create_thread(),
                Stream(
                    name="thread_stream",
                    method="GET",
                    path=path,
                    background=True,
                    disconnect_after_events=2,
                    counting=run_done,
                    # The second run's input values event: the one after its first metadata.
                    captures=(FromEventId("second_run_input", 1, after=run_start, occurrence=1),),
                ),
                # The thread stream is answered (listening) before the first run exists.
                WaitForEvents("thread_stream", 0),
                Request(
                    name="first_run",
                    method="POST",
                    path="/threads/{thread_id}/runs/wait",
                    body=run_body("weather_agent", GREETING, stream_mode=values_and_updates),
                ),
                Request(
                    name="second_run",
                    method="POST",
                    path="/threads/{thread_id}/runs/wait",
                    body=run_body(
                        "weather_agent",
                        GREETING,
                        stream_mode=values_and_updates,
                        stream_resumable=True,
                    ),
                ),
                Await("thread_stream"),
                # After the second run's input values event the next one waits for the model,
                # so no other event shares its id (upstream ids are <epoch ms>-0). The rest of
                # that run is replayed, up to its run_done.
                Stream(
                    name="thread_stream_after_event",
                    method="GET",
                    path=path,
                    headers=(
                        ("accept", "text/event-stream"),
                        ("last-event-id", "{second_run_input}"),
                    ),
                    disconnect_after_events=1,
                    counting=run_done,
                ),
            ),
        ),
    ]


def _multitask(strategy: str, second_status: int, outcome: str) -> Scenario:
    # Run 1 streams in the background until it is demonstrably under way (its first values
    # event arrived and the thread reads busy); only then is run 2 sent.
    second_body: dict[str, Any] = run_body(
        "weather_agent", GREETING, stream_mode=["values"], multitask_strategy=strategy
    )
    steps: list[Step] = [
        create_thread(),
        stream_run(
            "first_stream",
            run_body("weather_agent", SLOW_GREETING, stream_mode=["values"]),
            run_variable="first_run_id",
            background=True,
        ),
        WaitForEvents("first_stream", 2),
        poll_thread("thread_busy", ("busy",)),
        stream_run(
            "second_stream",
            second_body,
            run_variable="second_run_id",
            expect_status=second_status,
        ),
        Await("first_stream"),
    ]
    if strategy == "rollback":
        steps.append(
            Poll(
                name="first_run",
                path="/threads/{thread_id}/runs/{first_run_id}",
                expect_status=404,
            )
        )
    else:
        steps.append(get_run("first_run", "first_run_id"))
    if second_status == 200:
        steps.append(get_run("second_run", "second_run_id"))
    steps.extend([poll_thread("thread_idle", ("idle",)), get_state()])
    return Scenario(
        name=f"multitask_{strategy}",
        description=f"multitask_strategy {strategy} on a busy thread: {outcome}",
        capability="multitask",
        model_dependent=True,
        steps=tuple(steps),
    )


def _multitasks() -> list[Scenario]:
    return [
        _multitask("reject", 409, "the second run is refused with 409"),
        _multitask("interrupt", 200, "the first run is interrupted, the second runs"),
        _multitask("rollback", 200, "the first run is deleted, the second runs"),
        _multitask("enqueue", 200, "the second run waits for the first, then runs"),
    ]


def _graph_features() -> list[Scenario]:
    return [
        Scenario(
            name="interrupt_resume",
            description="approval_agent stops at interrupt(); the thread reads interrupted; "
            "a run with command resume finishes it",
            capability="interrupts",
            model_dependent=False,
            steps=(
                create_thread(),
                stream_run(
                    "stream",
                    run_body(
                        "approval_agent",
                        "Please propose a plan.",
                        model=False,
                        stream_mode=["values", "updates"],
                    ),
                ),
                get_run(),
                get_thread("thread_interrupted"),
                get_state("state_interrupted"),
                stream_run(
                    "resume",
                    run_body(
                        "approval_agent",
                        None,
                        model=False,
                        command={"resume": "yes"},
                        stream_mode=["values", "updates"],
                    ),
                    run_variable="resume_run_id",
                ),
                get_run("get_resume_run", "resume_run_id"),
                get_thread(),
            ),
        ),
        Scenario(
            name="subgraphs_stream",
            description="parent_agent with stream_subgraphs: events of the research subgraph "
            "are named mode|namespace",
            capability="subgraphs",
            model_dependent=True,
            steps=(
                create_thread(),
                stream_run(
                    "stream",
                    run_body(
                        "parent_agent",
                        GREETING,
                        stream_mode=["values", "updates", "messages-tuple"],
                        stream_subgraphs=True,
                    ),
                ),
                get_run(),
            ),
        ),
        Scenario(
            name="subgraphs_not_requested",
            description="parent_agent without stream_subgraphs: no namespaced events",
            capability="subgraphs",
            model_dependent=True,
            steps=(
                create_thread(),
                stream_run(
                    "stream",
                    run_body("parent_agent", GREETING, stream_mode=["values", "updates"]),
                ),
                get_run(),
            ),
        ),
    ]


def _model_failures() -> list[Scenario]:
    return [
        Scenario(
            name="llm_failure_stream",
            description="the model answers HTTP 500: an error event ends the stream, run and "
            "thread read error, and the thread still accepts a new run",
            capability="errors",
            # In live mode the failing call goes to a fake LLM the suite starts (a real model
            # obeys no fault:500); the next run's answer is the live model's.
            model_dependent=True,
            steps=(
                create_thread(),
                stream_run(
                    "stream",
                    run_body(
                        "weather_agent",
                        "fault:500",
                        model_config=FAILING_MODEL_CONFIG,
                        stream_mode=["values", "updates"],
                    ),
                ),
                get_run(),
                get_thread("thread_error"),
                stream_run(
                    "next_stream",
                    run_body("weather_agent", GREETING, stream_mode=["values"]),
                    run_variable="next_run_id",
                ),
                get_thread(),
            ),
        ),
        Scenario(
            name="llm_failure_wait",
            description="the model answers HTTP 500 under /runs/wait and /join: 200 with __error__",
            capability="errors",
            # In live mode the failing call goes to a fake LLM the suite starts (a real model
            # obeys no fault:500); the next run's answer is the live model's.
            model_dependent=True,
            steps=(
                create_thread(),
                Request(
                    name="wait",
                    method="POST",
                    path="/threads/{thread_id}/runs/wait",
                    body=run_body("weather_agent", "fault:500", model_config=FAILING_MODEL_CONFIG),
                    captures=(
                        FromHeader(
                            "run_id", "content-location", r"/runs/(?P<value>[0-9a-f-]+)(?:/|$)"
                        ),
                    ),
                ),
                get("join", "/threads/{thread_id}/runs/{run_id}/join"),
                get_run(),
            ),
        ),
    ]


SCENARIOS: tuple[Scenario, ...] = (
    *_stateless(),
    *_waits_and_joins(),
    *_resumable(),
    *_cancellation(),
    *_thread_stream(),
    *_multitasks(),
    *_graph_features(),
    *_model_failures(),
)
