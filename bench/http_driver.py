"""The load generator's side of a LangGraph API server (the reference server, ``langgraph dev``):
one fresh thread per run, one ``POST /threads/{id}/runs/stream`` per run (or the stateless
``POST /runs/stream``), the SSE body read raw and tallied without a full parser."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any, Literal, TypeVar

import httpx

from bench.http_pool import PooledHttpClient
from bench.load import HeldStream, hold_streams, run_closed_loop
from bench.samples import BatchResult, HoldOutcome, RunSample
from bench.sse_tally import SseTally, langgraph_token
from bench.workloads import Workload

Endpoint = Literal["thread", "stateless"]
Measured = TypeVar("Measured")

_THREAD_CREATION_PARALLELISM = 20
_TRANSPORT_RETRIES = 3
_ERROR_BODY_LIMIT = 300


class ThreadCreationError(RuntimeError):
    """The server refused to create a thread; the message carries its answer."""


class LangGraphHttpDriver(PooledHttpClient):
    """``async with LangGraphHttpDriver(url, ...) as driver: await driver.run_batch(...)``."""

    def __init__(
        self,
        base_url: str,
        *,
        graph_id: str,
        llm_url: str,
        stream_mode: Sequence[str],
        endpoint: Endpoint = "thread",
        run_timeout: float = 120.0,
    ) -> None:
        if endpoint not in ("thread", "stateless"):
            raise ValueError(f"endpoint must be 'thread' or 'stateless', got {endpoint!r}")
        self.base_url = base_url.rstrip("/")
        super().__init__(run_timeout=run_timeout, base_url=self.base_url)
        self.graph_id = graph_id
        self.llm_url = llm_url
        self.stream_mode = list(stream_mode)
        self.endpoint = endpoint

    def run_body(self, workload: Workload, *, cancel_on_disconnect: bool = False) -> dict[str, Any]:
        body: dict[str, Any] = {
            "assistant_id": self.graph_id,
            "input": {"messages": [{"role": "user", "content": workload.prompt}]},
            "stream_mode": self.stream_mode,
            "config": {"configurable": {"base_url": self.llm_url}},
        }
        if cancel_on_disconnect:
            body["on_disconnect"] = "cancel"
        return body

    async def _create_threads(self, count: int) -> list[str | None]:
        if self.endpoint == "stateless":
            return [None] * count
        limit = asyncio.Semaphore(_THREAD_CREATION_PARALLELISM)

        async def create() -> str:
            async with limit:
                response = await self._post_with_retry("/threads")
            if response.status_code != 200:
                raise ThreadCreationError(
                    f"POST /threads answered {response.status_code}: "
                    f"{response.text[:_ERROR_BODY_LIMIT]}"
                )
            return str(response.json()["thread_id"])

        return list(await asyncio.gather(*(create() for _ in range(count))))

    async def _post_with_retry(self, path: str) -> httpx.Response:
        """A POST that is safe to repeat (creating an empty thread), retried when a kept-alive
        connection turns out to have been closed by the server meanwhile."""
        for attempt in range(_TRANSPORT_RETRIES):
            try:
                return await self.client.post(path, json={})
            except httpx.TransportError:
                if attempt == _TRANSPORT_RETRIES - 1:
                    raise
        raise AssertionError("unreachable")

    def _stream_path(self, thread_id: str | None) -> str:
        return "/runs/stream" if thread_id is None else f"/threads/{thread_id}/runs/stream"

    async def run_batch(self, workload: Workload, *, concurrency: int, runs: int) -> BatchResult:
        """``runs`` runs of ``workload``, ``concurrency`` at a time; threads are created before
        the clock starts."""
        started = time.perf_counter()
        try:
            threads = await self._create_threads(runs)
        except (ThreadCreationError, httpx.HTTPError) as error:
            # The batch fails, visibly, rather than the whole benchmark.
            failed = _failed(started, f"thread creation failed: {type(error).__name__}: {error}")
            return BatchResult(
                concurrency=concurrency,
                wall_seconds=time.perf_counter() - started,
                samples=(failed,) * runs,
            )
        body = self.run_body(workload)

        async def run_one(index: int) -> RunSample:
            return await self._stream_once(self._stream_path(threads[index]), body, workload)

        return await run_closed_loop(run_one, concurrency=concurrency, runs=runs)

    async def _stream_once(self, path: str, body: dict[str, Any], workload: Workload) -> RunSample:
        tally_reader = SseTally(langgraph_token)
        started = time.perf_counter()
        try:
            async with (
                asyncio.timeout(self.run_timeout),
                self.stream_client() as client,
                client.stream(
                    "POST", path, json=body, headers={"accept": "text/event-stream"}
                ) as response,
            ):
                if response.status_code != 200:
                    text = (await response.aread())[:_ERROR_BODY_LIMIT]
                    return RunSample(
                        ok=False,
                        latency=time.perf_counter() - started,
                        error=f"HTTP {response.status_code}: {text.decode(errors='replace')}",
                    )
                async for chunk in response.aiter_raw():
                    tally_reader.feed(chunk, time.perf_counter() - started)
        except TimeoutError:
            return _failed(started, f"no end of stream within {self.run_timeout:.0f} s")
        except httpx.HTTPError as http_error:
            return _failed(started, f"{type(http_error).__name__}: {http_error}")
        latency = time.perf_counter() - started
        tally = tally_reader.close()
        problem = None
        if tally.error_events:
            problem = f"error event: {tally.first_error}"
        elif tally.token_events < workload.min_tokens:
            problem = f"{tally.token_events} token events, expected at least {workload.min_tokens}"
        return RunSample(
            ok=problem is None,
            latency=latency,
            events=tally.events,
            token_events=tally.token_events,
            first_token_at=tally.first_token_at,
            last_token_at=tally.last_token_at,
            error=problem,
        )

    async def hold(
        self,
        workload: Workload,
        *,
        count: int,
        open_timeout: float,
        hold_seconds: float,
        measure: Callable[[], Awaitable[Measured]],
    ) -> tuple[HoldOutcome, Measured]:
        """``count`` streams of a slow run open at once; ``measure()`` runs while they are.
        The runs ask to be cancelled when their stream is closed, so none outlives the hold."""
        threads = await self._create_threads(count)
        body = self.run_body(workload, cancel_on_disconnect=True)
        run_paths: dict[int, str] = {}

        async def open_one(index: int, stream: HeldStream) -> str:
            tally_reader = SseTally(langgraph_token)
            started = time.perf_counter()
            async with (
                self.stream_client() as client,
                client.stream(
                    "POST",
                    self._stream_path(threads[index]),
                    json=body,
                    headers={"accept": "text/event-stream"},
                    # Held streams may be quiet for long: only heartbeats keep them busy.
                    timeout=httpx.Timeout(None, connect=30.0),
                ) as response,
            ):
                if response.status_code != 200:
                    text = (await response.aread())[:_ERROR_BODY_LIMIT]
                    return f"HTTP {response.status_code}: {text.decode(errors='replace')}"
                stream.mark_open()
                run_path = response.headers.get("content-location")
                if run_path:
                    run_paths[index] = run_path
                async for chunk in response.aiter_raw():
                    tally_reader.feed(chunk, time.perf_counter() - started)
                    if tally_reader.tally.events:
                        stream.mark_active()
                    if tally_reader.tally.error_events:
                        return f"error event: {tally_reader.tally.first_error}"
            return f"stream ended after {tally_reader.tally.events} events while held open"

        outcome, measured = await hold_streams(
            open_one,
            count=count,
            open_timeout=open_timeout,
            hold_seconds=hold_seconds,
            measure=measure,
        )
        await self._cancel_runs(run_paths.values())
        return outcome, measured

    async def _cancel_runs(self, run_paths: Iterable[str]) -> None:
        """Cancel runs that may outlive their closed stream. ``on_disconnect: cancel`` should
        have ended them already, but a server that is slow to notice would keep the shared fake
        LLM busy during the next contestant's turn. Answers are not checked: a run that already
        ended answers 404 or 409, and either is fine here."""
        limit = asyncio.Semaphore(_THREAD_CREATION_PARALLELISM)

        async def cancel(run_path: str) -> None:
            async with limit:
                with contextlib.suppress(httpx.HTTPError):
                    await self.client.post(f"{run_path}/cancel")

        await asyncio.gather(*(cancel(path) for path in run_paths))


def _failed(started: float, reason: str) -> RunSample:
    return RunSample(ok=False, latency=time.perf_counter() - started, error=reason)
