"""A browser page on another origin: what useStream, Agent Chat UI and Open Agent Platform do
when they are not served by the API's own origin. The browser asks first (a CORS preflight)
before every JSON POST, and shows the page an answer only when it allows the page's origin.

The steps send the headers a browser adds; ``conformance.rules.checks.cors`` judges them.
"""

from __future__ import annotations

from conformance.scenarios._build import GREETING, create_thread, run_body
from conformance.scenarios.model import Request, Scenario, Stream

PAGE_ORIGIN = "http://127.0.0.1:5173"
"""A page on another loopback port (a Vite dev server's): the origin a browser sends."""


def _preflight(name: str, path: str, headers: str) -> Request:
    return Request(
        name=name,
        method="OPTIONS",
        path=path,
        headers=(
            ("origin", PAGE_ORIGIN),
            ("access-control-request-method", "POST"),
            ("access-control-request-headers", headers),
        ),
    )


SCENARIOS: list[Scenario] = [
    Scenario(
        name="cors_browser_page",
        description="a page on another origin: preflights, then a thread and a run streamed "
        "with an Origin header; each answer allows the origin, and the stream exposes "
        "Content-Location",
        capability="cors",
        model_dependent=False,
        steps=(
            # what the JS SDK sends: JSON, and the key it is given (x-api-key)
            _preflight("preflight_thread", "/threads", "content-type,x-api-key"),
            Request(
                name="create_thread",
                method="POST",
                path="/threads",
                body={},
                headers=(("origin", PAGE_ORIGIN),),
                captures=create_thread().captures,
            ),
            _preflight("preflight_stream", "/threads/{thread_id}/runs/stream", "content-type"),
            Stream(
                name="stream",
                method="POST",
                path="/threads/{thread_id}/runs/stream",
                body=run_body("custom_events", GREETING, model=False, stream_mode=["updates"]),
                headers=(("accept", "text/event-stream"), ("origin", PAGE_ORIGIN)),
            ),
        ),
    )
]
