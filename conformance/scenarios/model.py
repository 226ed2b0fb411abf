"""The scenario model: what to send, in which order, and what to remember from the answers.

Steps are plain frozen data; ``conformance.client`` executes them. Strings in paths, bodies
and header values may hold ``{variable}`` placeholders, filled from values captured by earlier
steps (``Capture`` kinds below), from ``NewId`` steps, or from the built-ins: ``{llm_url}`` (the
fake or live model's OpenAI-compatible base URL), ``{llm_configurable}`` (the run configurable
that points the graphs at that model: ``model_configurable``) and
``{failing_llm_configurable}`` (the same for the fault scenarios: in live mode the base URL
of a fake LLM the suite starts, which fails on ``fault:500`` whatever the live model). A string that is exactly one placeholder is
replaced by the captured value itself, whatever its JSON type; elsewhere the value is
formatted into the string.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

BUILT_IN_VARIABLES: tuple[str, ...] = ("llm_url", "llm_configurable", "failing_llm_configurable")
"""The variables every scenario run starts with (``conformance.client.run_scenario``)."""


def model_configurable(
    base_url: str, model: str | None = None, api_key: str | None = None
) -> dict[str, str]:
    """The run ``configurable`` a scenario graph reads its model from
    (``agent.model_endpoint``): the base URL, and the model name and key only when given, so
    that a run without them sends what the fixtures were recorded with."""
    configurable = {"base_url": base_url}
    if model:
        configurable["model_name"] = model
    if api_key:
        configurable["custom_api_key"] = api_key
    return configurable


# --- what to remember from a response -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FromJson:
    """The value at a JSON pointer (RFC 6901) of a JSON response body."""

    variable: str
    pointer: str


@dataclass(frozen=True, slots=True)
class FromHeader:
    """A named group of a regular expression matched against a response header.

    E.g. ``FromHeader("run_id", "content-location", r"/runs/(?P<value>[^/]+)$")``.
    """

    variable: str
    header: str
    pattern: str
    group: str = "value"


@dataclass(frozen=True, slots=True)
class FromEvent:
    """The value at a JSON pointer of the data of the ``index``-th SSE event named ``event``."""

    variable: str
    event: str
    pointer: str
    index: int = 0


@dataclass(frozen=True, slots=True)
class EventsWith:
    """The SSE events named ``event`` whose JSON data is an object with the key ``key``.

    A landmark that holds whatever the model does between landmarks: in a thread stream each
    run starts with a ``metadata`` event with ``attempt`` and ends with one with ``status``
    (run_done), however many events the model's path puts in between.
    """

    event: str
    key: str

    def matches(self, name: str, data: str) -> bool:
        if name != self.event:
            return False
        try:
            decoded = json.loads(data)
        except ValueError:
            return False
        return isinstance(decoded, dict) and self.key in decoded


@dataclass(frozen=True, slots=True)
class FromEventId:
    """The ``id:`` of the ``index``-th SSE event carrying data (0-based; negative counts from the
    end), e.g. for a later ``Last-Event-ID``.

    With ``after``, ``index`` counts from the ``occurrence``-th (0-based) event that ``after``
    matches, so the captured event is the same whatever number of events precede it.
    """

    variable: str
    index: int
    after: EventsWith | None = None
    occurrence: int = 0


Capture = FromJson | FromHeader | FromEvent | FromEventId


# --- steps ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Request:
    """One HTTP request whose whole response is read (JSON endpoints, ``/runs/wait``, joins).

    ``body`` is JSON (None sends no body); ``raw_body`` sends these exact bytes instead, for
    deliberately malformed requests. ``expect_status`` is what ``langgraph dev`` answers: the
    recorder refuses a recording that differs, the checker compares against the fixture.
    """

    name: str
    method: str
    path: str
    body: Any = None
    raw_body: bytes | None = None
    headers: tuple[tuple[str, str], ...] = ()
    expect_status: int = 200
    also_accept: tuple[int, ...] = ()
    """Other statuses as good for a client, each for a reason the step's scenario states (a
    404 for a malformed id: ids are opaque); the target answering one is no finding."""
    captures: tuple[Capture, ...] = ()
    background: bool = False
    """Start it and go on with the next step; an ``Await`` step collects it later."""


@dataclass(frozen=True, slots=True)
class Stream:
    """One request answered with ``text/event-stream``, e.g. ``POST /threads/{id}/runs/stream``
    or a join ``GET /threads/{id}/runs/{run}/stream`` (``Last-Event-ID`` goes in headers).

    Read until the server closes it, or, with ``disconnect_after_events``, until that many
    events carrying data arrived, then the client disconnects (heartbeat comments do not
    count).
    """

    name: str
    method: str
    path: str
    body: Any = None
    headers: tuple[tuple[str, str], ...] = (("accept", "text/event-stream"),)
    expect_status: int = 200
    also_accept: tuple[int, ...] = ()
    """As ``Request.also_accept``."""
    captures: tuple[Capture, ...] = ()
    disconnect_after_events: int | None = None
    counting: EventsWith | None = None
    """With it, ``disconnect_after_events`` counts only the events it matches (the client
    disconnects right after the last of them)."""
    background: bool = False
    run_deleted_under_it: bool = False
    """The scenario deletes the run this stream follows while it streams (a rollback):
    ``langgraph dev`` then ends the stream with an ``error`` event (``HTTPException``, ``404: Run
    not found``, as fixtures/thread_deleted_mid_run.json shows) or without one, whichever of
    the deletion and the stream's last read of the run comes first. Either ending is the
    ground truth; the comparison accepts both."""


@dataclass(frozen=True, slots=True)
class WaitForEvents:
    """Block until the background stream ``step`` has received ``count`` events with data.

    Makes "the first run is under way" a fact rather than a guess about timing. A ``count``
    of 0 waits for the response's status and headers: the server has taken the request (a
    thread stream is listening before the run it should see is created).
    """

    step: str
    count: int


@dataclass(frozen=True, slots=True)
class Await:
    """Block until the background step ``step`` has finished (its response fully read)."""

    step: str


@dataclass(frozen=True, slots=True)
class Poll:
    """GET ``path`` until the JSON value at ``pointer`` is one of ``until``, bounded by the run's
    timeout. Only the final response is recorded, so the number of polls never shows.

    ``expect_status`` may be 404 with ``until=()``: poll until the resource is gone.
    """

    name: str
    path: str
    pointer: str = "/status"
    until: tuple[Any, ...] = ()
    expect_status: int = 200
    interval: float = 0.05
    captures: tuple[Capture, ...] = ()


@dataclass(frozen=True, slots=True)
class NewId:
    """Bind ``variable`` to a fresh UUID (ids the client chooses, unique markers for search)."""

    variable: str


Step = Request | Stream | WaitForEvents | Await | Poll | NewId

RECORDED_STEPS = (Request, Stream, Poll)
"""The step kinds that produce an exchange in the transcript, named by their ``name``."""


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    description: str
    capability: str
    """One of ``conformance.capabilities.CAPABILITIES``."""
    model_dependent: bool
    """True when response content depends on the model (relaxed in live-LLM runs)."""
    steps: tuple[Step, ...]

    def step(self, name: str) -> Step:
        for step in self.steps:
            if isinstance(step, RECORDED_STEPS) and step.name == name:
                return step
        raise KeyError(f"scenario {self.name!r} has no step {name!r}")

    @property
    def recorded_step_names(self) -> tuple[str, ...]:
        return tuple(step.name for step in self.steps if isinstance(step, RECORDED_STEPS))
