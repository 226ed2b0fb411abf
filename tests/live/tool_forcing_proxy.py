"""An OpenAI-compatible proxy that makes a real model call a tool on every user turn.

It forwards everything to the model server unchanged, except that a chat completion offering
tools whose last message is the user's gets ``tool_choice`` set to the first tool, which
llama.cpp's function-calling chat format obeys: the model then calls ``get_weather`` on "hi",
where the recording has a plain answer. After the tool's result it answers freely.

    python tests/live/tool_forcing_proxy.py --upstream http://127.0.0.1:PORT/v1 --port PORT

``--force usage`` instead (or as well) asks every streamed completion for a usage chunk, as
vLLM started with ``--enable-force-include-usage`` sends one whether asked or not.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from typing import Any

import httpx
import uvicorn

_HOP_BY_HOP = frozenset({"content-length", "transfer-encoding", "connection"})


def forced(body: dict[str, Any]) -> dict[str, Any]:
    """``body`` with ``tool_choice`` naming its first tool when the user spoke last.

    Also ``content: null`` of an assistant turn that called tools becomes ``""``: valid
    OpenAI, but llama-cpp-python's request model refuses it with a 500.
    """
    messages = [
        {**message, "content": ""}
        if message.get("role") == "assistant" and message.get("content") is None
        else message
        for message in body.get("messages") or []
    ]
    body = {**body, "messages": messages}
    tools = body.get("tools") or []
    if not tools or not messages or messages[-1].get("role") != "user":
        return body
    name = tools[0]["function"]["name"]
    return {**body, "tool_choice": {"type": "function", "function": {"name": name}}}


def with_usage(body: dict[str, Any]) -> dict[str, Any]:
    """``body`` asking for a usage chunk at the end of its stream, if it streams."""
    if not body.get("stream"):
        return body
    return {**body, "stream_options": {**(body.get("stream_options") or {}), "include_usage": True}}


REWRITES: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "tool": forced,
    "usage": with_usage,
}


class ToolForcingProxy:
    def __init__(
        self,
        upstream: str,
        rewrites: tuple[Callable[[dict[str, Any]], dict[str, Any]], ...] = (forced,),
    ) -> None:
        self.upstream = upstream.rstrip("/")
        self.rewrites = rewrites
        self.client = httpx.AsyncClient(timeout=httpx.Timeout(600.0, connect=10.0))

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await self.client.aclose()
            await send({"type": "lifespan.shutdown.complete"})
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        path = scope["path"]
        if scope["method"] == "POST" and path.endswith("/chat/completions") and body:
            request_body = json.loads(body)
            for rewrite in self.rewrites:
                request_body = rewrite(request_body)
            body = json.dumps(request_body).encode()
        upstream_path = path[len("/v1") :] if path.startswith("/v1") else path
        request = self.client.build_request(
            scope["method"],
            self.upstream + upstream_path,
            content=body or None,
            headers={"content-type": "application/json"} if body else None,
        )
        response = await self.client.send(request, stream=True)
        try:
            headers = [
                (name.encode(), value.encode())
                for name, value in response.headers.items()
                if name.lower() not in _HOP_BY_HOP
            ]
            await send(
                {"type": "http.response.start", "status": response.status_code, "headers": headers}
            )
            async for chunk in response.aiter_raw():
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b""})
        finally:
            await response.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--upstream", required=True, help="the model's base URL (…/v1)")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument(
        "--force",
        action="append",
        choices=sorted(REWRITES),
        help="what to force (repeatable; default: tool)",
    )
    args = parser.parse_args()
    rewrites = tuple(REWRITES[name] for name in args.force or ["tool"])
    uvicorn.run(
        ToolForcingProxy(args.upstream, rewrites),
        host="127.0.0.1",
        port=args.port,
        log_level="warning",
    )


if __name__ == "__main__":
    main()
