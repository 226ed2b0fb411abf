"""Driving ``use_stream/page.jsx`` (the ``useStream`` hook) in headless Chromium: the cases it
runs and what it showed. Used by test_use_stream.py and by docs/reports/use_stream.py (a
third-party server by hand)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PAGE = Path(__file__).resolve().parent / "use_stream"
CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
_DRIVER_TIMEOUT_SECONDS = 900.0
_STREAMED_SPAN_MS = 600.0
CASES = ("greeting", "tool", "reopen")


@dataclass(frozen=True, slots=True)
class Target:
    """A server the page talks to, and the assistant it runs."""

    url: str
    assistant: str = "weather_agent"
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Shown:
    """What the page showed at the end of one case."""

    messages: tuple[tuple[str, str, tuple[str, ...]], ...]
    """(type, text, tool call names) of every message the hook holds."""
    streamed: bool
    """The last AI answer grew on screen token by token: in more than two steps, spread over
    at least ``_STREAMED_SPAN_MS`` (the paced model takes longer than that to answer; an
    answer held back and written at the end shows all its steps within a few milliseconds)."""
    error: str | None
    timed_out: bool
    console_errors: int


def _cases(target: Target, llm_url: str) -> list[dict[str, Any]]:
    model = {"base_url": llm_url}
    cases: list[dict[str, Any]] = [
        # paced (12 and 17 chunks, 1.8 and 2 s): token-by-token growth takes time the page
        # can see even on a busy machine, where a stream's renders bunch up by a few hundred
        # ms and an answer held back to the end shows its steps over up to about 250 ms
        {"name": "greeting", "prompt": "hi delay:150", "configurable": model},
        {"name": "tool", "prompt": "weather in Paris delay:120", "configurable": model},
        {"name": "reopen", "threadFrom": "tool", "configurable": {}},
    ]
    common = {"api": target.url, "assistant": target.assistant, "headers": target.headers}
    return [{**common, **case} for case in cases]


def _shown(result: dict[str, Any]) -> Shown:
    state = result["state"] or {}
    steps = state.get("aiTexts", [])
    return Shown(
        messages=tuple(
            (message["type"], message["content"], tuple(message["tool_calls"]))
            for message in state.get("messages", [])
        ),
        streamed=len(steps) > 2 and steps[-1]["at"] - steps[0]["at"] >= _STREAMED_SPAN_MS,
        error=state.get("error"),
        timed_out=result["timedOut"],
        console_errors=len(result["console"]),
    )


class DriverFailed(RuntimeError):
    """drive.mjs itself failed (not the server it drove): its stderr says why."""


def drive(targets: dict[str, Target], llm_url: str) -> dict[str, dict[str, Shown]]:
    """Runs the cases against every target in one Chromium; target -> case -> what it showed.
    The graphs get ``llm_url`` as their model (``configurable.base_url``)."""
    cases = []
    for name, target in targets.items():
        for case in _cases(target, llm_url):
            if "threadFrom" in case:
                case["threadFrom"] = f"{name}/{case['threadFrom']}"
            cases.append({**case, "name": f"{name}/{case['name']}", "group": name})
    completed = subprocess.run(
        ["node", "drive.mjs", json.dumps(cases)],
        cwd=PAGE,
        capture_output=True,
        text=True,
        timeout=_DRIVER_TIMEOUT_SECONDS,
        check=False,
    )
    if completed.returncode != 0:
        raise DriverFailed(f"drive.mjs failed:\n{completed.stderr[-3000:]}")
    shown: dict[str, dict[str, Shown]] = {name: {} for name in targets}
    for result in json.loads(completed.stdout):
        name, case = result["name"].split("/", 1)
        shown[name][case] = _shown(result)
    return shown


def missing_pieces() -> list[str]:
    """What this machine lacks to run the page, in words; empty when nothing."""
    missing = []
    if shutil.which("node") is None:
        missing.append("Node.js (`node` on PATH)")
    if not (PAGE / "node_modules" / "playwright-core").is_dir():
        missing.append("the page's packages (`npm ci --prefix tests/clients/use_stream`)")
    if not CHROMIUM.is_file():
        missing.append(f"Chromium at {CHROMIUM} (`apt-get install chromium`, or CHROMIUM_PATH)")
    return missing
