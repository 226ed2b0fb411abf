"""Every route under ``/threads/{id}/runs``, the stateless ``/runs`` routes, and
``GET /threads/{id}/stream``, answering as ``langgraph dev`` answers."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Literal

from pydantic import Field
from quart import Blueprint, Response, request

from reference_server import context
from reference_server.http import (
    MAX_INT64,
    ApiError,
    RequestModel,
    json_response,
    parse_body,
    parse_query,
    parse_uuid,
    read_json,
    validate,
)
from reference_server.runs.manager import (
    CANCEL_REASON_DISCONNECT,
    CANCEL_REASON_REQUEST,
    CANCEL_REASON_ROLLBACK,
    CancelAction,
    RunHandle,
    RunOrigin,
)
from reference_server.runs.request import RunCreate
from reference_server.runs.thread_stream import ThreadEventFeed
from reference_server.runs.workers import Workers
from reference_server.storage.base import Record, Storage, StoredEvent
from reference_server.streaming.broker import REPLAY_EVERYTHING
from reference_server.streaming.modes import InvalidStreamModeError, normalise_stream_modes
from reference_server.streaming.response import EventSource, json_body_when_done, sse_body
from reference_server.streaming.serialise import dumps
from reference_server.streaming.sse import CONTENT_TYPE as SSE_CONTENT_TYPE

blueprint = Blueprint("runs", __name__)

NOT_FOUND = "Not Found"
NO_RUNS_FOUND = "No runs found to cancel."
NO_RUNS_TO_CANCEL = (
    "No matching runs to cancel. Please verify the thread ID and run IDs are correct, and the "
    "runs haven't been deleted or completed."
)


class RunListQuery(RequestModel):
    limit: int = Field(default=10, ge=1, le=1000)
    offset: int = Field(default=0, ge=0, le=MAX_INT64)
    status: Literal["pending", "running", "error", "success", "timeout", "interrupted"] | None = (
        None
    )


class CancelQuery(RequestModel):
    wait: bool = False
    action: Literal["interrupt", "rollback"] = "interrupt"


class JoinStreamQuery(RequestModel):
    cancel_on_disconnect: bool = False
    stream_mode: list[str] | None = None


class ThreadStreamQuery(RequestModel):
    # What the SDK's threads.join_stream may send; langgraph dev (0.16.7) sends every run
    # event whichever is asked, and so does this server.
    stream_mode: list[Literal["run_modes", "lifecycle", "state_update"]] | None = None


class CancelManyBody(RequestModel):
    thread_id: str | None = None
    run_ids: list[str] | None = None
    status: Literal["pending", "running", "all"] | None = None


class StatelessRunCreate(RunCreate):
    thread_id: str | None = None


# helpers ------------------------------------------------------------------------------
def _path_uuid(value: str) -> str:
    """A path id as a canonical UUID; upstream answers 400 with Python's own wording here."""
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise ApiError(400, "badly formed hexadecimal UUID string") from None


def _origin() -> RunOrigin:
    return RunOrigin(
        owner=context.current_owner(),
        headers=dict(request.headers.items()),
        api_url=request.host_url.rstrip("/"),
    )


def _heartbeat_seconds() -> float:
    return context.settings().heartbeat_seconds


def _write_interval() -> float:
    return context.settings().write_interval_seconds


async def _visible_thread(thread_id: str) -> Record:
    thread = await context.storage().get_thread(thread_id, context.current_owner())
    if thread is None:
        raise ApiError(404, f"Thread with ID {thread_id} not found")
    return thread


async def _visible_run(thread_id: str, run_id: str) -> Record:
    run = await context.storage().get_run(run_id, context.current_owner())
    if run is None or str(run.get("thread_id")) != thread_id:
        raise ApiError(404, NOT_FOUND)
    return run


def _run_paths(
    thread_id: str | None, run_id: str, *, stateless: bool, suffix: str
) -> dict[str, str]:
    if stateless or thread_id is None:
        base = f"/runs/{run_id}"
    else:
        base = f"/threads/{thread_id}/runs/{run_id}"
    return {"Location": f"{base}/{suffix}", "Content-Location": base}


def _sse_response(body: AsyncIterator[bytes], headers: dict[str, str]) -> Response:
    response = Response(
        body,
        status=200,
        headers={**headers, "Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        content_type=SSE_CONTENT_TYPE,
    )
    response.timeout = None  # type: ignore[assignment]  # a stream lasts as long as its run
    return response


def _json_stream_response(body: AsyncIterator[bytes], headers: dict[str, str]) -> Response:
    response = Response(body, status=200, headers=headers, content_type="application/json")
    response.timeout = None  # type: ignore[assignment]
    return response


def _last_event_id() -> str | None:
    value = request.headers.get("Last-Event-ID")
    return value.strip() if value is not None and value.strip() else None


async def _stored_events(
    storage: Storage, run_id: str, after_id: str | None
) -> AsyncIterator[StoredEvent]:
    # ``storage`` is passed in: the body is produced after the request context is gone.
    after = None if after_id in (None, REPLAY_EVERYTHING) else after_id
    for event in await storage.list_events(run_id, after):
        yield event


def _cancel_callback(handle: RunHandle, enabled: bool) -> Callable[[], Awaitable[None]] | None:
    """What to do when the client leaves early: cancel the run, if it asked for that."""
    if not enabled:
        return None
    # Captured now: the request context is gone by the time the client disconnects.
    manager = context.run_manager()

    async def _cancel() -> None:
        await manager.cancel(
            handle, action="interrupt", wait=False, reason=CANCEL_REASON_DISCONNECT
        )

    return _cancel


def _cancel_elsewhere_callback(run_id: str, enabled: bool) -> Callable[[], Awaitable[None]] | None:
    """As ``_cancel_callback``, for a run another worker process executes."""
    if not enabled:
        return None
    manager = context.run_manager()

    async def _cancel() -> None:
        await manager.cancel_elsewhere(
            run_id, action="interrupt", wait=False, reason=CANCEL_REASON_DISCONNECT
        )

    return _cancel


async def _create(body: RunCreate, thread_id: str | None) -> RunHandle:
    return await context.run_manager().create_run(body, thread_id=thread_id, origin=_origin())


def _stream_created(handle: RunHandle, *, stateless: bool) -> Response:
    body = sse_body(
        handle.log.cursor(0),
        include_ids=handle.body.stream_resumable,
        heartbeat_seconds=_heartbeat_seconds(),
        write_interval=_write_interval(),
        on_disconnect=_cancel_callback(handle, handle.body.on_disconnect == "cancel"),
    )
    return _sse_response(
        body, _run_paths(handle.thread_id, handle.run_id, stateless=stateless, suffix="stream")
    )


async def _wait_result(handle: RunHandle, storage: Storage) -> bytes:
    """What ``/wait`` and ``/join`` answer: the final values, or ``{"__error__": ...}``."""
    await handle.finished.wait()
    if handle.error is not None:
        return dumps({"__error__": handle.error})
    if handle.final_values is not None:
        return dumps(handle.final_values)
    thread = await storage.get_thread(handle.thread_id, None)
    return dumps(thread.get("values") if thread else None)


def _wait_created(handle: RunHandle, *, stateless: bool) -> Response:
    body = json_body_when_done(
        _wait_result(handle, context.storage()),
        heartbeat_seconds=_heartbeat_seconds(),
        on_disconnect=_cancel_callback(handle, handle.body.on_disconnect == "cancel"),
    )
    return _json_stream_response(
        body, _run_paths(handle.thread_id, handle.run_id, stateless=False, suffix="join")
    )


# runs on a thread -----------------------------------------------------------------------
@blueprint.post("/threads/<thread_id>/runs")
async def create_run(thread_id: str) -> Response:
    thread_id = _path_uuid(thread_id)
    handle = await _create(await parse_body(RunCreate), thread_id)
    return json_response(
        handle.run, headers={"Content-Location": f"/threads/{thread_id}/runs/{handle.run_id}"}
    )


@blueprint.post("/threads/<thread_id>/runs/stream")
async def stream_run(thread_id: str) -> Response:
    thread_id = _path_uuid(thread_id)
    handle = await _create(await parse_body(RunCreate), thread_id)
    return _stream_created(handle, stateless=False)


@blueprint.post("/threads/<thread_id>/runs/wait")
async def wait_run(thread_id: str) -> Response:
    thread_id = _path_uuid(thread_id)
    handle = await _create(await parse_body(RunCreate), thread_id)
    return _wait_created(handle, stateless=False)


@blueprint.get("/threads/<thread_id>/runs")
async def list_runs(thread_id: str) -> Response:
    thread_id = _path_uuid(thread_id)
    query = parse_query(RunListQuery)
    await _visible_thread(thread_id)
    runs = await context.storage().list_runs(
        thread_id,
        context.current_owner(),
        status=query.status,
        limit=query.limit,
        offset=query.offset,
    )
    return json_response(runs)


@blueprint.get("/threads/<thread_id>/runs/<run_id>")
async def get_run(thread_id: str, run_id: str) -> Response:
    thread_id = _path_uuid(thread_id)
    run_id = _path_uuid(run_id)
    return json_response(await _visible_run(thread_id, run_id))


@blueprint.delete("/threads/<thread_id>/runs/<run_id>")
async def delete_run(thread_id: str, run_id: str) -> Response:
    thread_id = _path_uuid(thread_id)
    run_id = _path_uuid(run_id)
    run = await _visible_run(thread_id, run_id)
    manager = context.run_manager()
    handle = manager.handle(run_id)
    if (handle is not None and not handle.finished.is_set()) or await manager.executing_elsewhere(
        run_id
    ):
        raise ApiError(409, f"Run {run_id} is {run.get('status')}: cancel it before deleting it")
    await context.storage().delete_run(run_id, context.current_owner())
    return Response(b"", status=204)


@blueprint.post("/threads/<thread_id>/runs/<run_id>/cancel")
async def cancel_run(thread_id: str, run_id: str) -> Response:
    thread_id = _path_uuid(thread_id)
    run_id = _path_uuid(run_id)
    query = parse_query(CancelQuery)
    manager = context.run_manager()
    run = await context.storage().get_run(run_id, context.current_owner())
    if run is None or str(run.get("thread_id")) != thread_id:
        raise ApiError(404, NO_RUNS_FOUND)
    action: CancelAction = query.action
    reason = CANCEL_REASON_ROLLBACK if action == "rollback" else CANCEL_REASON_REQUEST
    handle = manager.handle(run_id)
    if handle is None or handle.finished.is_set():
        # Another worker process may execute it.
        if await manager.cancel_elsewhere(run_id, action=action, wait=query.wait, reason=reason):
            if not query.wait:
                return Response(b"", status=202)
            # cancel_elsewhere waited for the run to end: answer as for a local run.
            return _json_stream_response(
                json_body_when_done(_empty_object(), heartbeat_seconds=_heartbeat_seconds()),
                _run_paths(thread_id, run_id, stateless=False, suffix="join"),
            )
        raise ApiError(404, NO_RUNS_TO_CANCEL)
    await manager.cancel(handle, action=action, wait=False, reason=reason)
    if not query.wait:
        return Response(b"", status=202)
    # As langgraph dev answers wait=1: 200 and an empty object once the run is over, with
    # the run's join in the headers.
    return _json_stream_response(
        json_body_when_done(
            _empty_object_when_finished(handle), heartbeat_seconds=_heartbeat_seconds()
        ),
        _run_paths(thread_id, run_id, stateless=False, suffix="join"),
    )


async def _empty_object_when_finished(handle: RunHandle) -> bytes:
    await handle.finished.wait()
    return b"{}"


async def _empty_object() -> bytes:
    return b"{}"


@blueprint.get("/threads/<thread_id>/runs/<run_id>/join")
async def join_run(thread_id: str, run_id: str) -> Response:
    thread_id = _path_uuid(thread_id)
    run_id = _path_uuid(run_id)
    headers = _run_paths(thread_id, run_id, stateless=False, suffix="join")
    manager = context.run_manager()
    handle = manager.handle(run_id)
    if handle is not None and str(handle.thread_id) == thread_id:
        await _visible_run(thread_id, run_id)
        body = json_body_when_done(
            _wait_result(handle, context.storage()), heartbeat_seconds=_heartbeat_seconds()
        )
        return _json_stream_response(body, headers)
    run = await context.storage().get_run(run_id, context.current_owner())
    if run is None or str(run.get("thread_id")) != thread_id:
        return json_response(
            {"__error__": {"error": "HTTPException", "message": "404: Run not found"}},
            headers=headers,
        )
    thread = await _visible_thread(thread_id)
    if await manager.executing_elsewhere(run_id):
        body = json_body_when_done(
            _join_elsewhere(manager.workers, context.storage(), run_id, thread_id),
            heartbeat_seconds=_heartbeat_seconds(),
        )
        return _json_stream_response(body, headers)
    return json_response(_finished_result(run, thread), headers=headers)


def _finished_result(run: Record | None, thread: Record | None) -> object:
    """What joining a run that is over answers: its thread's values, or its error."""
    if run is None or thread is None:
        return {"__error__": {"error": "HTTPException", "message": "404: Run not found"}}
    if run.get("status") == "error" and thread.get("error"):
        return {"__error__": thread["error"]}
    return thread.get("values")


async def _join_elsewhere(workers: Workers, storage: Storage, run_id: str, thread_id: str) -> bytes:
    """Waits for a run another worker executes, then answers as for a finished run."""
    await workers.wait_until_released(run_id)
    run = await storage.get_run(run_id, None)
    thread = await storage.get_thread(thread_id, None)
    return dumps(_finished_result(run, thread))


@blueprint.get("/threads/<thread_id>/runs/<run_id>/stream")
async def join_run_stream(thread_id: str, run_id: str) -> Response:
    thread_id = _path_uuid(thread_id)
    run_id = _path_uuid(run_id)
    query = parse_query(JoinStreamQuery, list_fields=("stream_mode",))
    await _visible_run(thread_id, run_id)
    after_id = _last_event_id()
    headers = _run_paths(thread_id, run_id, stateless=False, suffix="stream")
    manager = context.run_manager()
    handle = manager.handle(run_id)
    modes = _query_stream_modes(query)
    source: EventSource | AsyncIterator[StoredEvent]
    if handle is not None:
        position = handle.log.start_position(after_id)
        source = (
            _only_modes(handle.log.listen_from(position), modes)
            if modes
            else handle.log.cursor(position)
        )
        include_ids = handle.body.stream_resumable
        on_disconnect = _cancel_callback(handle, query.cancel_on_disconnect)
    else:
        events: AsyncIterator[StoredEvent]
        if await manager.executing_elsewhere(run_id):
            run = await _visible_run(thread_id, run_id)
            events = manager.workers.follow_events(run_id, after_id)
            include_ids = bool((run.get("kwargs") or {}).get("resumable"))
            on_disconnect = _cancel_elsewhere_callback(run_id, query.cancel_on_disconnect)
        else:
            # Finished (or left by a restart): replay what was kept, then end.
            events = (
                _stored_events(context.storage(), run_id, after_id)
                if after_id is not None
                else _no_events()
            )
            include_ids = True
            on_disconnect = None
        source = _only_modes(events, modes) if modes else events
    body = sse_body(
        source,
        include_ids=include_ids,
        heartbeat_seconds=_heartbeat_seconds(),
        write_interval=_write_interval(),
        on_disconnect=on_disconnect,
    )
    return _sse_response(body, headers)


@blueprint.get("/threads/<thread_id>/stream")
async def stream_thread(thread_id: str) -> Response:
    """Every event of the thread's runs from now on (after ``Last-Event-ID``: the kept ones
    after it first), run after run, until the client leaves. See ``runs.thread_stream``."""
    thread_id = parse_uuid(thread_id, "thread")
    parse_query(ThreadStreamQuery, list_fields=("stream_mode",))
    await _visible_thread(thread_id)
    feed = ThreadEventFeed(context.run_manager(), thread_id, _last_event_id())
    body = sse_body(
        feed.events(),
        include_ids=True,
        heartbeat_seconds=_heartbeat_seconds(),
        write_interval=_write_interval(),
    )
    # langgraph dev names no run here: no Location, no Content-Location.
    return _sse_response(body, {})


def _query_stream_modes(query: JoinStreamQuery) -> tuple[str, ...]:
    """The ``stream_mode`` filter of a join; the SDK sends ``stream_mode=`` for none."""
    requested = [mode for mode in query.stream_mode or [] if mode]
    if not requested:
        return ()
    try:
        return normalise_stream_modes(requested)
    except InvalidStreamModeError as error:
        raise ApiError(422, str(error)) from None


async def _no_events() -> AsyncIterator[StoredEvent]:
    return
    yield  # pragma: no cover - makes this an async generator


async def _only_modes(
    events: AsyncIterator[StoredEvent], modes: tuple[str, ...]
) -> AsyncIterator[StoredEvent]:
    wanted = set(modes)
    if "messages-tuple" in wanted:
        wanted.add("messages")
    async for event in events:
        base = event.event.split("|", 1)[0].split("/", 1)[0]
        if event.event in ("metadata", "error") or base in wanted:
            yield event


# stateless runs -------------------------------------------------------------------------
@blueprint.post("/runs")
async def create_stateless_run() -> Response:
    body = await parse_body(StatelessRunCreate)
    thread_id = parse_uuid(body.thread_id, "thread") if body.thread_id else None
    handle = await _create(body, thread_id)
    return json_response(handle.run, headers={"Content-Location": f"/runs/{handle.run_id}"})


@blueprint.post("/runs/stream")
async def stream_stateless_run() -> Response:
    body = await parse_body(StatelessRunCreate)
    thread_id = parse_uuid(body.thread_id, "thread") if body.thread_id else None
    handle = await _create(body, thread_id)
    return _stream_created(handle, stateless=thread_id is None)


@blueprint.post("/runs/wait")
async def wait_stateless_run() -> Response:
    body = await parse_body(StatelessRunCreate)
    thread_id = parse_uuid(body.thread_id, "thread") if body.thread_id else None
    handle = await _create(body, thread_id)
    return _wait_created(handle, stateless=thread_id is None)


@blueprint.post("/runs/batch")
async def create_stateless_batch() -> Response:
    raw = await read_json(allow_empty=False)
    if not isinstance(raw, list):
        raise ApiError(422, "Request body must be a JSON array of runs")
    bodies = []
    for index, item in enumerate(raw):
        if not isinstance(item, dict):
            raise ApiError(422, f'"{index}": each run must be a JSON object')
        try:
            bodies.append(validate(StatelessRunCreate, item))
        except ApiError as error:
            raise ApiError(422, f"run {index}: {error.detail}") from None
    runs = []
    for body in bodies:
        thread_id = parse_uuid(body.thread_id, "thread") if body.thread_id else None
        runs.append((await _create(body, thread_id)).run)
    return json_response(runs)


@blueprint.post("/runs/cancel")
async def cancel_many() -> Response:
    body = await parse_body(CancelManyBody)
    query = parse_query(CancelQuery)
    manager = context.run_manager()
    owner = context.current_owner()
    if body.status is not None:
        wanted = ("pending", "running") if body.status == "all" else (body.status,)
        handles = [
            handle
            for handle in manager.all_runs()
            if handle.run.get("status") in wanted and not handle.finished.is_set()
        ]
    else:
        if not body.run_ids:
            raise ApiError(422, '"run_ids" is a required property unless "status" is given')
        handles = []
        for run_id in body.run_ids:
            handle = manager.handle(parse_uuid(run_id, "run"))
            if handle is None or handle.finished.is_set():
                continue
            if body.thread_id is not None and handle.thread_id != parse_uuid(
                body.thread_id, "thread"
            ):
                continue
            handles.append(handle)
    visible = [h for h in handles if await context.storage().get_run(h.run_id, owner)]
    elsewhere = await _runs_elsewhere_to_cancel(body, owner, {h.run_id for h in handles})
    if not visible and not elsewhere:
        raise ApiError(404, NO_RUNS_TO_CANCEL)
    for handle in visible:
        await manager.cancel(handle, action=query.action, wait=query.wait)
    for run_id in elsewhere:
        await manager.cancel_elsewhere(run_id, action=query.action, wait=query.wait)
    return Response(b"", status=204)


async def _runs_elsewhere_to_cancel(
    body: CancelManyBody, owner: str | None, local: set[str]
) -> list[str]:
    """The runs ``/runs/cancel`` names that other worker processes execute."""
    manager = context.run_manager()
    if not manager.workers.shared:
        return []
    storage = context.storage()
    if body.status is not None:
        wanted = ("pending", "running") if body.status == "all" else (body.status,)
        candidates = [
            str(run["run_id"])
            for run in await storage.list_runs_with_status(wanted)
            if owner is None or await storage.get_run(str(run["run_id"]), owner) is not None
        ]
    else:
        candidates = []
        for run_id in body.run_ids or []:
            run = await storage.get_run(parse_uuid(run_id, "run"), owner)
            if run is None:
                continue
            if body.thread_id is not None and str(run.get("thread_id")) != parse_uuid(
                body.thread_id, "thread"
            ):
                continue
            candidates.append(str(run["run_id"]))
    return [
        run_id
        for run_id in candidates
        if run_id not in local and await manager.executing_elsewhere(run_id)
    ]
