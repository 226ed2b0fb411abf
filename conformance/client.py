"""Run one scenario against a target server and return what happened, byte for byte.

The executor for ``conformance.scenarios``: it sends each step with httpx, keeps every
response body as the network chunks it arrived in (``aiter_raw``) with arrival times, keeps
header names lower-cased in wire order, and remembers the values later steps need (ids from
JSON bodies, from the stream's ``metadata`` event, from headers).

It never hangs: every step is bounded by ``timeout``. A target that cannot be reached raises
``TargetUnreachable``; a step that cannot go on (a capture found nothing, a poll never reached
its status, a step timed out) raises ``ScenarioError`` carrying the transcript so far, so a
caller can still judge what did arrive.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from conformance.scenarios.model import (
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
    Stream,
    WaitForEvents,
    model_configurable,
)
from conformance.scenarios.substitution import UnknownVariable, rename_graphs, substitute
from conformance.transcript import Chunk, Exchange, RecordedRequest, RecordedResponse, Transcript

# Connecting is quick or never: a closed port is refused at once; a black hole should not
# cost the whole step timeout before saying so.
_CONNECT_TIMEOUT = 5.0


class TargetUnreachable(ConnectionError):
    """The target did not accept a connection (nothing listening, wrong host, refused)."""


class ScenarioError(RuntimeError):
    """A step could not be carried out; ``transcript`` holds every exchange recorded so far."""

    def __init__(self, message: str, *, scenario: str, step: str, transcript: Transcript) -> None:
        super().__init__(f"scenario {scenario!r}, step {step!r}: {message}")
        self.scenario = scenario
        self.step = step
        self.transcript = transcript


class StepTimeout(ScenarioError):
    """A step took longer than the timeout (a stream that never closed, a poll that never
    reached its status)."""


async def run_scenario(
    scenario: Scenario,
    base_url: str,
    *,
    llm_url: str,
    headers: Mapping[str, str] | None = None,
    graph_map: Mapping[str, str] | None = None,
    timeout: float = 30.0,
    llm_model: str | None = None,
    llm_api_key: str | None = None,
    failing_llm_url: str | None = None,
) -> Transcript:
    """Execute ``scenario`` against ``base_url`` and return its transcript.

    ``llm_url`` fills ``{llm_url}`` in bodies (the model's OpenAI-compatible base URL), and
    with ``llm_model`` and ``llm_api_key`` the run configurable ``{llm_configurable}``
    (``conformance.scenarios.model.model_configurable``); ``failing_llm_url`` replaces the
    base URL in ``{failing_llm_configurable}``, the fault scenarios' model (default: the same
    endpoint, which fails on the ``fault:`` directives when it is the fake LLM);
    ``headers`` (e.g. auth) go on every request but are not recorded; ``graph_map`` renames
    graph ids in ``assistant_id``/``graph_id`` body fields and gives the mapped graphs the
    model configurable; ``timeout`` bounds each step.
    """
    run = _ScenarioRun(
        scenario=scenario,
        base_url=base_url.rstrip("/"),
        variables={
            "llm_url": llm_url,
            "llm_configurable": model_configurable(llm_url, llm_model, llm_api_key),
            "failing_llm_configurable": model_configurable(
                failing_llm_url or llm_url, llm_model, llm_api_key
            ),
        },
        graph_map=dict(graph_map or {}),
        timeout=timeout,
        client_header_names=tuple(name.lower() for name in headers or {}),
    )
    client_timeout = httpx.Timeout(timeout, connect=min(timeout, _CONNECT_TIMEOUT))
    async with httpx.AsyncClient(
        base_url=run.base_url, headers=dict(headers or {}), timeout=client_timeout
    ) as client:
        run.client = client
        try:
            await run.execute()
        finally:
            await run.cancel_background()
    return run.transcript()


def unexpected_statuses(scenario: Scenario, transcript: Transcript) -> list[str]:
    """One line per exchange whose status differs from the step's ``expect_status``."""
    problems = []
    for exchange in transcript.exchanges:
        step = scenario.step(exchange.step)
        assert isinstance(step, Request | Stream | Poll)
        if exchange.response.status != step.expect_status:
            problems.append(
                f"{scenario.name}/{exchange.step}: {exchange.request.method} "
                f"{exchange.request.path} answered {exchange.response.status}, "
                f"expected {step.expect_status}"
            )
    return problems


# --- SSE, just enough to count events and capture from them ---------------------------------

_LINE_BREAK = re.compile(r"\r\n|\r|\n")


@dataclass(slots=True)
class _Event:
    name: str
    data: str
    id: str | None


class _EventReader:
    """Incremental SSE splitter: the executor only needs names, data and ids to count events
    and capture values. Judging the framing is the checker's job (``conformance.sse``)."""

    def __init__(self) -> None:
        self._buffer = ""
        self._decoder_pending = b""
        self._after_cr = False
        """The last read ended with a CR that ended a line: an LF first in the next read is
        the rest of that CRLF."""
        self._name = ""
        self._data: list[str] = []
        self._last_id: str | None = None
        self.events: list[_Event] = []

    def feed(self, data: bytes) -> int:
        """Take more bytes; return how many events they completed. A CR ends its line at
        once (a server may pause right after an event framed with CR alone); an LF right
        after it is then skipped."""
        raw = self._decoder_pending + data
        try:
            text = raw.decode("utf-8")
            self._decoder_pending = b""
        except UnicodeDecodeError as error:
            # A multi-byte character split across reads: keep its start for the next read.
            text = raw[: error.start].decode("utf-8")
            self._decoder_pending = raw[error.start :]
        if self._after_cr and text:
            self._after_cr = False
            text = text.removeprefix("\n")
        self._buffer += text
        before = len(self.events)
        while True:
            match = _LINE_BREAK.search(self._buffer)
            if match is None:
                break
            line, self._buffer = self._buffer[: match.start()], self._buffer[match.end() :]
            self._after_cr = match.group() == "\r" and not self._buffer
            self._take_line(line)
        return len(self.events) - before

    def _take_line(self, line: str) -> None:
        if line == "":
            if self._data:
                self.events.append(
                    _Event(self._name or "message", "\n".join(self._data), self._last_id)
                )
            self._name, self._data = "", []
            return
        if line.startswith(":"):
            return
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "event":
            self._name = value
        elif name == "data":
            self._data.append(value)
        elif name == "id" and "\0" not in value:
            self._last_id = value


# --- the executor ----------------------------------------------------------------------------


@dataclass(slots=True)
class _Progress:
    """What a background stream has received so far, for ``WaitForEvents``."""

    events: int = 0
    answered: bool = False
    """The response's status line and headers arrived."""
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    collector: _Collector | None = None

    def add(self, count: int) -> None:
        if count:
            self.events += count
            self.changed.set()

    def mark_answered(self) -> None:
        self.answered = True
        self.changed.set()

    def reached(self, count: int) -> bool:
        # Zero events wanted: the answer itself is what is awaited.
        return self.events >= count if count else self.answered


@dataclass(slots=True)
class _Outcome:
    exchange: Exchange
    events: list[_Event]
    failure: str = ""
    """Why the step could not finish (e.g. a timeout); empty when it did."""
    timed_out: bool = False


@dataclass
class _ScenarioRun:
    scenario: Scenario
    base_url: str
    variables: dict[str, Any]
    graph_map: dict[str, str]
    timeout: float
    client_header_names: tuple[str, ...] = ()
    """The headers every request carries (``headers=``, e.g. auth), lower-cased."""
    client: httpx.AsyncClient | None = None
    _exchanges: dict[str, Exchange] = field(default_factory=dict)
    _background: dict[str, asyncio.Task[_Outcome]] = field(default_factory=dict)
    _progress: dict[str, _Progress] = field(default_factory=dict)

    def transcript(self) -> Transcript:
        # Exchanges in the order the scenario lists its steps, whenever they finished.
        ordered = [
            self._exchanges[name]
            for name in self.scenario.recorded_step_names
            if name in self._exchanges
        ]
        return Transcript(
            scenario=self.scenario.name,
            description=self.scenario.description,
            exchanges=ordered,
        )

    def _fail(self, step: str, message: str, *, timed_out: bool = False) -> ScenarioError:
        kind = StepTimeout if timed_out else ScenarioError
        return kind(message, scenario=self.scenario.name, step=step, transcript=self.transcript())

    async def execute(self) -> None:
        for step in self.scenario.steps:
            if isinstance(step, NewId):
                self.variables[step.variable] = str(uuid.uuid4())
            elif isinstance(step, Request | Stream):
                await self._start(step)
            elif isinstance(step, Poll):
                await self._poll(step)
            elif isinstance(step, WaitForEvents):
                await self._wait_for_events(step)
            elif isinstance(step, Await):
                await self._await(step.step)
            else:  # pragma: no cover - the Step union is closed
                raise TypeError(f"unknown step kind {type(step).__name__}")
        for name in list(self._background):
            await self._await(name)

    async def cancel_background(self) -> None:
        for task in self._background.values():
            task.cancel()
        for task in self._background.values():
            # Only reached when the scenario is already failing or done: its outcome is moot.
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._background.clear()

    # -- request steps --

    async def _start(self, step: Request | Stream) -> None:
        if step.name in self._exchanges or step.name in self._background:
            raise self._fail(step.name, "step name used twice in the scenario")
        prepared = self._prepare(step)
        if step.background:
            progress = _Progress()
            self._progress[step.name] = progress
            self._background[step.name] = asyncio.create_task(
                self._send_bounded(step, prepared, progress)
            )
            return
        outcome = await self._send_bounded(step, prepared, None)
        self._finish(step, outcome)

    def _prepare(self, step: Request | Stream) -> _Prepared:
        try:
            path = substitute(step.path, self.variables)
            header_pairs = [
                (name.lower(), str(substitute(value, self.variables)))
                for name, value in step.headers
            ]
            body = rename_graphs(
                substitute(step.body, self.variables),
                self.graph_map,
                self.variables["llm_configurable"],
            )
        except UnknownVariable as error:
            raise self._fail(step.name, str(error)) from None
        omit: tuple[str, ...] = ()
        if _is_preflight(step.method, header_pairs):
            # A browser asks leave for the headers its page will send and sends none of them
            # on the preflight itself: the target must allow them without seeing them.
            own = {name for name, _ in header_pairs}
            omit = tuple(name for name in self.client_header_names if name not in own)
            if omit:
                header_pairs = _asking_for(header_pairs, omit)
        content: bytes | None
        recorded_body: Any
        if isinstance(step, Request) and step.raw_body is not None:
            content = step.raw_body
            recorded_body = step.raw_body.decode("utf-8", errors="replace")
            header_pairs = [*header_pairs, ("content-type", "application/json")]
        elif body is not None:
            content = json.dumps(body, ensure_ascii=False).encode("utf-8")
            recorded_body = body
            header_pairs = [*header_pairs, ("content-type", "application/json")]
        else:
            content = None
            recorded_body = None
        return _Prepared(
            request=RecordedRequest(
                method=step.method.upper(), path=path, headers=header_pairs, body=recorded_body
            ),
            content=content,
            omit_headers=omit,
        )

    async def _send_bounded(
        self, step: Request | Stream, prepared: _Prepared, progress: _Progress | None
    ) -> _Outcome:
        stop_after = step.disconnect_after_events if isinstance(step, Stream) else None
        counting = step.counting if isinstance(step, Stream) else None
        collector = _Collector(step.name, prepared.request, stop_after, progress, counting)
        try:
            async with asyncio.timeout(self.timeout):
                await collector.send(self._http(), prepared.content, prepared.omit_headers)
        except TimeoutError:
            return collector.outcome(
                "timeout", failure=f"no complete answer within {self.timeout:g} s", timed_out=True
            )
        except (httpx.ConnectError, httpx.ConnectTimeout) as error:
            raise TargetUnreachable(
                f"cannot connect to {self.base_url} ({type(error).__name__}: {error})"
            ) from error
        if collector.status == 0:
            return collector.outcome(
                "broken",
                failure=f"the connection failed before an answer: {collector.broken_reason}",
            )
        return collector.outcome(collector.closed_by)

    def _finish(self, step: Request | Stream | Poll, outcome: _Outcome) -> None:
        self._exchanges[step.name] = outcome.exchange
        if outcome.failure:
            raise self._fail(step.name, outcome.failure, timed_out=outcome.timed_out)
        for capture in step.captures:
            try:
                self.variables[capture.variable] = _capture(capture, outcome)
            except LookupError as error:
                raise self._fail(
                    step.name, f"cannot capture {capture.variable!r}: {error}"
                ) from None

    def _http(self) -> httpx.AsyncClient:
        assert self.client is not None, "run_scenario opens the client before executing"
        return self.client

    # -- coordination steps --

    async def _wait_for_events(self, step: WaitForEvents) -> None:
        progress = self._progress.get(step.step)
        if progress is None:
            raise self._fail(step.step, "WaitForEvents names no background stream step")
        task = self._background.get(step.step)
        try:
            async with asyncio.timeout(self.timeout):
                while not progress.reached(step.count):
                    if task is None or task.done():
                        break
                    progress.changed.clear()
                    waiter = asyncio.ensure_future(progress.changed.wait())
                    await asyncio.wait({waiter, task}, return_when=asyncio.FIRST_COMPLETED)
                    waiter.cancel()
        except TimeoutError:
            raise self._fail(
                step.step,
                f"only {progress.events} of {step.count} events within {self.timeout:g} s",
                timed_out=True,
            ) from None
        if not progress.reached(step.count):
            # The stream ended first: collect it so its transcript and failure are reported.
            await self._await(step.step)
            raise self._fail(
                step.step, f"stream ended after {progress.events} of {step.count} events"
            )
        self._capture_so_far(step.step, progress)

    def _capture_so_far(self, name: str, progress: _Progress) -> None:
        """Bind the captures of a background stream whose data already arrived (its run id,
        say), so the steps before its ``Await`` can use them. The rest bind at ``Await``."""
        if progress.collector is None:
            return
        step = self.scenario.step(name)
        assert isinstance(step, Request | Stream)
        partial = progress.collector.outcome("server")
        for capture in step.captures:
            with contextlib.suppress(LookupError):
                self.variables[capture.variable] = _capture(capture, partial)

    async def _await(self, name: str) -> None:
        task = self._background.pop(name, None)
        if task is None:
            if name in self._exchanges:
                return
            raise self._fail(name, "Await names no background step")
        step = self.scenario.step(name)
        assert isinstance(step, Request | Stream)
        self._finish(step, await task)

    async def _poll(self, step: Poll) -> None:
        try:
            path = substitute(step.path, self.variables)
        except UnknownVariable as error:
            raise self._fail(step.name, str(error)) from None
        request = RecordedRequest(method="GET", path=path)
        deadline = time.monotonic() + self.timeout
        last: _Outcome | None = None
        while True:
            collector = _Collector(step.name, request, None, None)
            try:
                async with asyncio.timeout(max(deadline - time.monotonic(), 0.001)):
                    await collector.send(self._http(), None)
            except TimeoutError:
                # Report the last complete answer when there is one: the request cut short
                # at the deadline says nothing about the target.
                self._exchanges[step.name] = (last or collector.outcome("timeout")).exchange
                raise self._poll_gave_up(step, path, last) from None
            except (httpx.ConnectError, httpx.ConnectTimeout) as error:
                raise TargetUnreachable(f"cannot connect to {self.base_url}: {error}") from error
            last = collector.outcome(collector.closed_by)
            if collector.status == 0:
                self._exchanges[step.name] = last.exchange
                raise self._fail(
                    step.name, f"the connection failed before an answer: {collector.broken_reason}"
                )
            if _poll_satisfied(step, last.exchange.response):
                self._finish(step, last)
                return
            settled = _settled_elsewhere(step, last.exchange.response)
            if settled is not None:
                # The run is over: waiting longer cannot bring the status awaited.
                self._exchanges[step.name] = last.exchange
                raise self._fail(
                    step.name,
                    f"{path} reached the terminal status {settled!r}, not "
                    f"{' or '.join(map(repr, step.until))}",
                )
            if time.monotonic() + step.interval >= deadline:
                self._exchanges[step.name] = last.exchange
                raise self._poll_gave_up(step, path, last)
            await asyncio.sleep(step.interval)

    def _poll_gave_up(self, step: Poll, path: str, last: _Outcome | None) -> ScenarioError:
        if last is None:
            return self._fail(step.name, f"no answer within {self.timeout:g} s", timed_out=True)
        return self._fail(
            step.name,
            f"{path} did not reach {step.until or step.expect_status} within "
            f"{self.timeout:g} s (last: {_describe(last.exchange.response, step)})",
            timed_out=True,
        )


@dataclass(frozen=True, slots=True)
class _Prepared:
    request: RecordedRequest
    content: bytes | None
    omit_headers: tuple[str, ...] = ()
    """Headers of the client's own not to send with this request (a CORS preflight's)."""


def _is_preflight(method: str, headers: list[tuple[str, str]]) -> bool:
    return method.upper() == "OPTIONS" and any(
        name == "access-control-request-method" for name, _ in headers
    )


def _asking_for(headers: list[tuple[str, str]], names: tuple[str, ...]) -> list[tuple[str, str]]:
    """``headers`` with ``names`` added to Access-Control-Request-Headers (made if absent)."""
    asked = [value for name, value in headers if name == "access-control-request-headers"]
    listed = [part.strip() for part in ",".join(asked).split(",") if part.strip()]
    value = ",".join([*listed, *(name for name in names if name not in listed)])
    others = [(name, v) for name, v in headers if name != "access-control-request-headers"]
    return [*others, ("access-control-request-headers", value)]


class _Collector:
    """Sends one request and keeps what arrived, even when the caller gives up half-way."""

    def __init__(
        self,
        step: str,
        request: RecordedRequest,
        stop_after_events: int | None,
        progress: _Progress | None,
        counting: EventsWith | None = None,
    ) -> None:
        self.step = step
        self.request = request
        self.stop_after_events = stop_after_events
        self.counting = counting
        self.progress = progress
        if progress is not None:
            progress.collector = self
        self.status = 0
        self.headers: list[tuple[str, str]] = []
        self.chunks: list[Chunk] = []
        self.reader = _EventReader()
        self.closed_by = "server"
        self.broken_reason = ""

    async def send(
        self, client: httpx.AsyncClient, content: bytes | None, omit: tuple[str, ...] = ()
    ) -> None:
        started = time.monotonic()
        http_request = client.build_request(
            self.request.method, self.request.path, content=content, headers=self.request.headers
        )
        for name in omit:
            http_request.headers.pop(name, None)
        try:
            response = await client.send(http_request, stream=True)
        except (httpx.ConnectError, httpx.ConnectTimeout):
            raise  # nothing listening: the caller says the target is unreachable
        except httpx.TimeoutException as error:
            raise TimeoutError(str(error)) from error  # the step's own timeout, said as such
        except httpx.TransportError as error:
            # The target took the connection, then reset or closed it before answering.
            self.closed_by = "broken"
            self.broken_reason = f"{type(error).__name__}: {error}"
            return
        try:
            self.status = response.status_code
            self.headers = [
                (name.decode("latin-1").lower(), value.decode("latin-1"))
                for name, value in response.headers.raw
            ]
            if self.progress is not None:
                self.progress.mark_answered()
            is_stream = response.headers.get("content-type", "").startswith("text/event-stream")
            try:
                async for data in response.aiter_raw():
                    self.chunks.append(Chunk(at_ms=(time.monotonic() - started) * 1000, data=data))
                    if not is_stream:
                        continue
                    completed = self.reader.feed(data)
                    if self.progress is not None:
                        self.progress.add(completed)
                    if (
                        self.stop_after_events is not None
                        and self._counted() >= self.stop_after_events
                    ):
                        self.closed_by = "client"
                        return
            except httpx.TimeoutException as error:
                raise TimeoutError(str(error)) from error
            except httpx.TransportError as error:
                # An aborted connection, a chunked body cut short: what arrived is kept, and
                # the exchange says it is incomplete so nothing judges it as a whole answer.
                self.closed_by = "broken"
                self.broken_reason = f"{type(error).__name__}: {error}"
        finally:
            await response.aclose()

    def _counted(self) -> int:
        if self.counting is None:
            return len(self.reader.events)
        counting = self.counting
        return sum(1 for event in self.reader.events if counting.matches(event.name, event.data))

    def outcome(self, closed_by: str, *, failure: str = "", timed_out: bool = False) -> _Outcome:
        response = RecordedResponse(
            status=self.status, headers=self.headers, chunks=list(self.chunks), closed_by=closed_by
        )
        return _Outcome(
            exchange=Exchange(step=self.step, request=self.request, response=response),
            events=list(self.reader.events),
            failure=failure,
            timed_out=timed_out,
        )


def _poll_satisfied(step: Poll, response: RecordedResponse) -> bool:
    if response.status != step.expect_status:
        return False
    if not step.until:
        return True
    try:
        return _resolve_pointer(response.json(), step.pointer) in step.until
    except (ValueError, LookupError):
        return False


TERMINAL_RUN_STATUSES: frozenset[str] = frozenset({"success", "error", "interrupted", "timeout"})
"""A run in one of these never changes status again."""

_RUN_PATH = re.compile(r"/runs/[^/?#]+/?(?:\?.*)?$")


def _settled_elsewhere(step: Poll, response: RecordedResponse) -> str | None:
    """The terminal status a polled run reached, when it is not one the step awaits (a
    thread, unlike a run, can leave any status again, so only runs end a poll early)."""
    if step.pointer != "/status" or not step.until or not _RUN_PATH.search(step.path):
        return None
    if response.status != 200:
        return None
    try:
        status = _resolve_pointer(response.json(), step.pointer)
    except (ValueError, LookupError):
        return None
    if isinstance(status, str) and status in TERMINAL_RUN_STATUSES and status not in step.until:
        return status
    return None


def _describe(response: RecordedResponse, step: Poll) -> str:
    try:
        return f"status {response.status}, {step.pointer} = {_resolve_pointer(response.json(), step.pointer)!r}"
    except (ValueError, LookupError):
        return f"status {response.status}"


def _capture(capture: Capture, outcome: _Outcome) -> Any:
    response = outcome.exchange.response
    if isinstance(capture, FromJson):
        try:
            document = response.json()
        except ValueError:
            raise LookupError("the response body is not JSON") from None
        return _resolve_pointer(document, capture.pointer)
    if isinstance(capture, FromHeader):
        value = response.header(capture.header)
        if value is None:
            raise LookupError(f"no {capture.header!r} header")
        match = re.search(capture.pattern, value)
        if match is None:
            raise LookupError(
                f"header {capture.header}: {value!r} does not match {capture.pattern}"
            )
        return match.group(capture.group)
    if isinstance(capture, FromEvent):
        named = [event for event in outcome.events if event.name == capture.event]
        try:
            event = named[capture.index]
        except IndexError:
            raise LookupError(
                f"{len(named)} {capture.event!r} events, wanted index {capture.index}"
            ) from None
        try:
            return _resolve_pointer(json.loads(event.data), capture.pointer)
        except ValueError:
            raise LookupError(f"{capture.event!r} event data is not JSON") from None
    if isinstance(capture, FromEventId):
        start = 0
        if capture.after is not None:
            after = capture.after
            landmarks = [
                position
                for position, event in enumerate(outcome.events)
                if after.matches(event.name, event.data)
            ]
            if len(landmarks) <= capture.occurrence:
                raise LookupError(
                    f"{len(landmarks)} {after.event!r} events with {after.key!r}, wanted "
                    f"occurrence {capture.occurrence}"
                )
            start = landmarks[capture.occurrence]
        try:
            event_id = outcome.events[start + capture.index].id
        except IndexError:
            raise LookupError(
                f"{len(outcome.events)} events, wanted index {start + capture.index}"
            ) from None
        if event_id is None:
            raise LookupError(f"event {capture.index} has no id")
        return event_id
    raise TypeError(f"unknown capture kind {type(capture).__name__}")  # pragma: no cover


def _resolve_pointer(document: Any, pointer: str) -> Any:
    """RFC 6901; raises LookupError naming the first missing part."""
    if pointer == "":
        return document
    if not pointer.startswith("/"):
        raise LookupError(f"JSON pointer {pointer!r} must start with '/'")
    current = document
    for raw_part in pointer[1:].split("/"):
        part = raw_part.replace("~1", "/").replace("~0", "~")
        if isinstance(current, dict) and part in current:
            current = current[part]
        elif isinstance(current, list) and part.isdigit() and int(part) < len(current):
            current = current[int(part)]
        else:
            raise LookupError(f"nothing at {pointer} (missing {part!r})")
    return current
