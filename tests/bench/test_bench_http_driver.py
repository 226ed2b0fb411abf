from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator

import httpx
import respx

from bench.http_driver import LangGraphHttpDriver
from bench.workloads import GREETING, long_answer

BASE = "http://server.test"
LLM = "http://llm.test/v1"
SSE_HEADERS = {"content-type": "text/event-stream; charset=utf-8"}


def _sse(*events: tuple[str, object]) -> bytes:
    return b"".join(
        f"event: {name}\r\ndata: {json.dumps(data, separators=(',', ':'))}\r\n\r\n".encode()
        for name, data in events
    )


GREETING_STREAM = _sse(
    ("metadata", {"run_id": "r1", "attempt": 1}),
    ("values", {"messages": []}),
    ("messages", [{"content": "Hello", "id": "lc_run--1"}, {}]),
    ("messages", [{"content": "!", "id": "lc_run--1"}, {}]),
    ("values", {"messages": []}),
)


def _driver(**kwargs: object) -> LangGraphHttpDriver:
    return LangGraphHttpDriver(
        BASE,
        graph_id="weather_agent",
        llm_url=LLM,
        stream_mode=["values", "messages-tuple"],
        **kwargs,  # type: ignore[arg-type]
    )


@respx.mock
async def test_a_batch_creates_a_thread_per_run_and_tallies_each_stream() -> None:
    threads = iter(range(100))
    respx.post(f"{BASE}/threads").mock(
        side_effect=lambda request: httpx.Response(200, json={"thread_id": f"t{next(threads)}"})
    )
    stream_route = respx.post(url__regex=rf"{BASE}/threads/t\d+/runs/stream").mock(
        return_value=httpx.Response(200, headers=SSE_HEADERS, content=GREETING_STREAM)
    )
    async with _driver() as driver:
        batch = await driver.run_batch(GREETING, concurrency=2, runs=3)
    assert batch.completed == 3
    assert [sample.events for sample in batch.samples] == [5, 5, 5]
    assert [sample.token_events for sample in batch.samples] == [2, 2, 2]
    assert all(sample.first_token_at is not None for sample in batch.samples)
    paths = sorted(call.request.url.path for call in stream_route.calls)
    assert paths == [f"/threads/t{index}/runs/stream" for index in range(3)]
    body = json.loads(stream_route.calls[0].request.content)
    assert body == {
        "assistant_id": "weather_agent",
        "input": {"messages": [{"role": "user", "content": "hi"}]},
        "stream_mode": ["values", "messages-tuple"],
        "config": {"configurable": {"base_url": LLM}},
    }
    assert stream_route.calls[0].request.headers["accept"] == "text/event-stream"


@respx.mock
async def test_the_stateless_endpoint_creates_no_thread() -> None:
    threads_route = respx.post(f"{BASE}/threads")
    respx.post(f"{BASE}/runs/stream").mock(
        return_value=httpx.Response(200, headers=SSE_HEADERS, content=GREETING_STREAM)
    )
    async with _driver(endpoint="stateless") as driver:
        batch = await driver.run_batch(GREETING, concurrency=1, runs=2)
    assert batch.completed == 2
    assert not threads_route.called


@respx.mock
async def test_failures_are_samples_that_say_what_went_wrong() -> None:
    respx.post(f"{BASE}/threads").mock(return_value=httpx.Response(200, json={"thread_id": "t"}))
    outcomes: Iterator[httpx.Response | Exception] = iter(
        [
            httpx.Response(422, json={"detail": "bad stream_mode"}),
            httpx.Response(
                200,
                headers=SSE_HEADERS,
                content=_sse(("metadata", {}), ("error", {"error": "ValueError", "message": "x"})),
            ),
            httpx.Response(200, headers=SSE_HEADERS, content=GREETING_STREAM),  # too few tokens
            httpx.ConnectError("refused"),
        ]
    )

    def answer(request: httpx.Request) -> httpx.Response:
        outcome = next(outcomes)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    respx.post(f"{BASE}/threads/t/runs/stream").mock(side_effect=answer)
    async with _driver() as driver:
        batch = await driver.run_batch(long_answer(5), concurrency=1, runs=4)
    errors = [sample.error for sample in batch.samples]
    assert batch.completed == 0
    assert errors[0] == 'HTTP 422: {"detail":"bad stream_mode"}'
    assert errors[1] is not None and errors[1].startswith('error event: {"error":"ValueError"')
    assert errors[2] == "2 token events, expected at least 5"
    assert errors[3] == "ConnectError: refused"


@respx.mock
async def test_a_failed_thread_creation_fails_the_batch_and_names_the_status() -> None:
    respx.post(f"{BASE}/threads").mock(return_value=httpx.Response(404, text="no such route"))
    async with _driver() as driver:
        batch = await driver.run_batch(GREETING, concurrency=1, runs=2)
    assert batch.completed == 0
    assert [sample.error for sample in batch.samples] == [
        "thread creation failed: ThreadCreationError: POST /threads answered 404: no such route"
    ] * 2


@respx.mock
async def test_thread_creation_survives_a_kept_alive_connection_closed_by_the_server() -> None:
    outcomes: Iterator[httpx.Response | Exception] = iter(
        [httpx.ReadError("closed"), httpx.Response(200, json={"thread_id": "t"})]
    )

    def answer(request: httpx.Request) -> httpx.Response:
        outcome = next(outcomes)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    respx.post(f"{BASE}/threads").mock(side_effect=answer)
    respx.post(f"{BASE}/threads/t/runs/stream").mock(
        return_value=httpx.Response(200, headers=SSE_HEADERS, content=GREETING_STREAM)
    )
    async with _driver() as driver:
        batch = await driver.run_batch(GREETING, concurrency=1, runs=1)
    assert batch.completed == 1


async def test_held_streams_ask_to_be_cancelled_on_disconnect() -> None:
    driver = _driver()
    body = driver.run_body(GREETING, cancel_on_disconnect=True)
    assert body["on_disconnect"] == "cancel"
    assert "on_disconnect" not in driver.run_body(GREETING)


async def test_using_the_driver_outside_its_context_is_an_error() -> None:
    driver = _driver()
    try:
        await asyncio.wait_for(driver.run_batch(GREETING, concurrency=1, runs=1), 1.0)
    except RuntimeError as error:
        assert "outside `async with`" in str(error)
    else:
        raise AssertionError("expected a RuntimeError")
