"""A tiny OpenAI-compatible chat endpoint for the agent's unit tests.

Not the project's fake LLM (``conformance/fake_llm``): just enough of ``/v1/chat/completions``
(streamed and not) to drive the graphs, with every request recorded so tests can check what
the agent sent (model, key, tools, system prompt).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

GREETING = "Hello from the stand-in."
_WEATHER = re.compile(r"weather in (\w+)", re.IGNORECASE)


@dataclass
class RecordedCall:
    headers: dict[str, str]
    body: dict[str, Any]


@dataclass
class StandInLLM:
    """Script: after tool results, echo them; "weather in X" with the tool offered, call it."""

    calls: list[RecordedCall] = field(default_factory=list)

    def _reply(self, body: dict[str, Any]) -> dict[str, Any]:
        messages = body.get("messages") or []
        last = messages[-1] if messages else {}
        if last.get("role") == "tool":
            return {"content": "Tool said: " + str(last.get("content")), "tool_calls": None}
        offered = {tool["function"]["name"] for tool in body.get("tools") or []}
        text = str(last.get("content") or "")
        for tool_name in sorted(offered):
            # "use TOOL with JSON" lets a test call any tool it offers.
            match = re.search(rf"use {re.escape(tool_name)} with (\{{.*\}})", text)
            if match:
                return {"content": "", "tool_calls": [(tool_name, match.group(1))]}
        weather = _WEATHER.search(text)
        if weather and "get_weather" in offered:
            arguments = json.dumps({"city": weather.group(1)})
            return {"content": "", "tool_calls": [("get_weather", arguments)]}
        return {"content": GREETING, "tool_calls": None}

    def _tool_calls(self, reply: dict[str, Any]) -> list[dict[str, Any]] | None:
        if not reply["tool_calls"]:
            return None
        return [
            {
                "index": index,
                "id": f"call_{len(self.calls)}_{index}",
                "type": "function",
                "function": {"name": name, "arguments": arguments},
            }
            for index, (name, arguments) in enumerate(reply["tool_calls"])
        ]

    async def _completions(self, request: Request) -> Response:
        body = await request.json()
        self.calls.append(RecordedCall(dict(request.headers), body))
        reply = self._reply(body)
        tool_calls = self._tool_calls(reply)
        finish_reason = "tool_calls" if tool_calls else "stop"
        base = {"id": "chatcmpl-stand-in", "created": 1, "model": body.get("model", "")}
        if not body.get("stream"):
            message = {"role": "assistant", "content": reply["content"], "tool_calls": tool_calls}
            choice = {"index": 0, "message": message, "finish_reason": finish_reason}
            return JSONResponse({**base, "object": "chat.completion", "choices": [choice]})

        def chunk(delta: dict[str, Any], finish: str | None = None) -> str:
            choice = {"index": 0, "delta": delta, "finish_reason": finish}
            payload = {**base, "object": "chat.completion.chunk", "choices": [choice]}
            return f"data: {json.dumps(payload)}\n\n"

        def events() -> list[str]:
            parts = [chunk({"role": "assistant", "content": ""})]
            parts += [chunk({"content": word}) for word in re.findall(r"\S+\s*", reply["content"])]
            if tool_calls:
                parts.append(chunk({"tool_calls": tool_calls}))
            parts.append(chunk({}, finish_reason))
            parts.append("data: [DONE]\n\n")
            return parts

        return StreamingResponse(iter(events()), media_type="text/event-stream")

    def app(self) -> Starlette:
        return Starlette(
            routes=[Route("/v1/chat/completions", self._completions, methods=["POST"])]
        )
