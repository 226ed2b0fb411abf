"""The lowest floor: the fake LLM read directly, as the graph's model client reads it (one
streamed chat completion per model call; the tool round trip is two calls, the second carrying
the tool result), with no graph and no LangGraph server in between."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import httpx
import orjson

from bench.http_pool import PooledHttpClient
from bench.load import HeldStream, hold_streams, run_closed_loop
from bench.samples import BatchResult, HoldOutcome, RunSample
from bench.sse_tally import SseTally, openai_token
from bench.workloads import Workload
from conformance.model_preflight import WEATHER_TOOL

Measured = TypeVar("Measured")

MODEL_NAME = "fake"
_ERROR_BODY_LIMIT = 300


def tool_calls_from_chunks(chunks: list[bytes]) -> list[dict[str, Any]]:
    """Re-assemble the tool calls of a streamed completion from its ``data:`` payloads, in the
    shape an assistant message carries them (id, type, function name, full JSON arguments)."""
    calls: dict[int, dict[str, Any]] = {}
    for data in chunks:
        if data == b"[DONE]":
            continue
        payload = orjson.loads(data)
        for choice in payload.get("choices") or ():
            for fragment in (choice.get("delta") or {}).get("tool_calls") or ():
                call = calls.setdefault(
                    int(fragment.get("index", 0)),
                    {"id": "", "type": "function", "function": {"name": "", "arguments": ""}},
                )
                if fragment.get("id"):
                    call["id"] = fragment["id"]
                function = fragment.get("function") or {}
                call["function"]["name"] += function.get("name") or ""
                call["function"]["arguments"] += function.get("arguments") or ""
    return [calls[index] for index in sorted(calls)]


class FakeLlmDriver(PooledHttpClient):
    """``async with FakeLlmDriver("http://127.0.0.1:PORT/v1") as driver: ...``"""

    def __init__(self, llm_url: str, *, run_timeout: float = 120.0) -> None:
        super().__init__(run_timeout=run_timeout)
        self.llm_url = llm_url.rstrip("/")

    def _request(self, messages: list[dict[str, Any]], *, with_tools: bool) -> dict[str, Any]:
        request: dict[str, Any] = {"model": MODEL_NAME, "messages": messages, "stream": True}
        if with_tools:
            request["tools"] = [WEATHER_TOOL]
        return request

    async def _completion(
        self, request: dict[str, Any], started: float, *, keep_data: bool
    ) -> tuple[SseTally, str | None]:
        """Streams one completion into a tally; the second value says what went wrong."""
        tally_reader = SseTally(openai_token, keep_data=keep_data)
        async with (
            self.stream_client() as client,
            client.stream("POST", self.llm_url + "/chat/completions", json=request) as response,
        ):
            if response.status_code != 200:
                text = (await response.aread())[:_ERROR_BODY_LIMIT]
                return tally_reader, f"HTTP {response.status_code}: {text.decode(errors='replace')}"
            async for chunk in response.aiter_raw():
                tally_reader.feed(chunk, time.perf_counter() - started)
        tally_reader.close()
        return tally_reader, None

    async def _run_once(self, workload: Workload) -> RunSample:
        started = time.perf_counter()
        messages: list[dict[str, Any]] = [{"role": "user", "content": workload.prompt}]
        try:
            async with asyncio.timeout(self.run_timeout):
                first, error = await self._completion(
                    self._request(messages, with_tools=workload.uses_tool),
                    started,
                    keep_data=workload.uses_tool,
                )
                tallies = [first]
                if error is None and workload.uses_tool:
                    calls = tool_calls_from_chunks(first.tally.kept_data)
                    if not calls:
                        error = "the fake LLM made no tool call for the tool prompt"
                    else:
                        messages.append({"role": "assistant", "content": "", "tool_calls": calls})
                        messages.extend(
                            {
                                "role": "tool",
                                "tool_call_id": call["id"],
                                "content": "It is sunny and 21°C in Paris.",
                            }
                            for call in calls
                        )
                        second, error = await self._completion(
                            self._request(messages, with_tools=True), started, keep_data=False
                        )
                        tallies.append(second)
        except TimeoutError:
            return RunSample(
                ok=False,
                latency=time.perf_counter() - started,
                error=f"no end of stream within {self.run_timeout:.0f} s",
            )
        except httpx.HTTPError as http_error:
            return RunSample(
                ok=False,
                latency=time.perf_counter() - started,
                error=f"{type(http_error).__name__}: {http_error}",
            )
        latency = time.perf_counter() - started
        token_events = sum(reader.tally.token_events for reader in tallies)
        first_token = next(
            (reader.tally.first_token_at for reader in tallies if reader.tally.first_token_at), None
        )
        last_token = next(
            (
                reader.tally.last_token_at
                for reader in reversed(tallies)
                if reader.tally.last_token_at
            ),
            None,
        )
        if error is None and token_events < workload.min_tokens:
            error = f"{token_events} token events, expected at least {workload.min_tokens}"
        return RunSample(
            ok=error is None,
            latency=latency,
            events=sum(reader.tally.events for reader in tallies),
            token_events=token_events,
            first_token_at=first_token,
            last_token_at=last_token,
            error=error,
        )

    async def run_batch(self, workload: Workload, *, concurrency: int, runs: int) -> BatchResult:
        async def run_one(index: int) -> RunSample:
            return await self._run_once(workload)

        return await run_closed_loop(run_one, concurrency=concurrency, runs=runs)

    async def hold(
        self,
        workload: Workload,
        *,
        count: int,
        open_timeout: float,
        hold_seconds: float,
        measure: Callable[[], Awaitable[Measured]],
    ) -> tuple[HoldOutcome, Measured]:
        request = self._request([{"role": "user", "content": workload.prompt}], with_tools=False)

        async def open_one(index: int, stream: HeldStream) -> str:
            async with (
                self.stream_client() as client,
                client.stream(
                    "POST",
                    self.llm_url + "/chat/completions",
                    json=request,
                    timeout=httpx.Timeout(None, connect=30.0),
                ) as response,
            ):
                if response.status_code != 200:
                    text = (await response.aread())[:_ERROR_BODY_LIMIT]
                    return f"HTTP {response.status_code}: {text.decode(errors='replace')}"
                stream.mark_open()
                async for _chunk in response.aiter_raw():
                    stream.mark_active()
            return "stream ended while held open"

        return await hold_streams(
            open_one,
            count=count,
            open_timeout=open_timeout,
            hold_seconds=hold_seconds,
            measure=measure,
        )
