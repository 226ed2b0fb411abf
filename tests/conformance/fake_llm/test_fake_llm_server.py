"""The fake LLM over HTTP: routes, stream framing, faults on the wire, bad requests, pacing."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest

from conformance.fake_llm.process import start_fake_llm

WEATHER_TOOL = {"type": "function", "function": {"name": "get_weather"}}


def _body(text: str, *, stream: bool = True, **extra: Any) -> dict[str, Any]:
    return {
        "model": "fake",
        "stream": stream,
        "messages": [{"role": "user", "content": text}],
        "tools": [WEATHER_TOOL],
        **extra,
    }


def _events(raw: bytes) -> list[bytes]:
    assert raw.endswith(b"\n\n"), raw[-80:]
    events = raw[:-2].split(b"\n\n")
    for event in events:
        assert event.startswith(b"data: "), event
    return [event[len(b"data: ") :] for event in events]


@pytest.fixture
def client(fake_llm_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=fake_llm_url, timeout=10.0) as client:
        yield client


def test_readiness_and_models(fake_llm_url: str, client: httpx.Client) -> None:
    root = fake_llm_url.removesuffix("/v1")
    assert httpx.get(root + "/ok").json()["status"] == "ok"
    assert httpx.get(root + "/health").status_code == 200
    models = client.get("/models")
    assert models.status_code == 200
    assert models.json()["data"][0]["id"] == "fake"


def test_streamed_greeting_framing(client: httpx.Client) -> None:
    response = client.post("/chat/completions", json=_body("hi"))
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/event-stream; charset=utf-8"
    events = _events(response.content)
    assert events[-1] == b"[DONE]"
    chunks = [orjson.loads(event) for event in events[:-1]]
    text = "".join(chunk["choices"][0]["delta"].get("content") or "" for chunk in chunks)
    assert text == "Hello! How can I help you today?"
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"
    assert all("usage" not in chunk for chunk in chunks)


def test_streamed_usage_when_asked(client: httpx.Client) -> None:
    response = client.post(
        "/chat/completions", json=_body("hi", stream_options={"include_usage": True})
    )
    events = _events(response.content)
    usage_chunk = orjson.loads(events[-2])
    assert usage_chunk["choices"] == []
    assert usage_chunk["usage"]["completion_tokens"] == 9


def test_non_streamed_completion(client: httpx.Client) -> None:
    response = client.post("/chat/completions", json=_body("weather in Paris", stream=False))
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.headers["content-length"] == str(len(response.content))
    [call] = response.json()["choices"][0]["message"]["tool_calls"]
    assert orjson.loads(call["function"]["arguments"]) == {"city": "Paris"}


def test_long_answer_has_one_chunk_per_token(client: httpx.Client) -> None:
    events = _events(client.post("/chat/completions", json=_body("long:500")).content)
    # role chunk, 500 tokens, finish chunk, [DONE]
    assert len(events) == 1 + 500 + 1 + 1


@pytest.mark.parametrize("stream", [True, False])
@pytest.mark.parametrize("text", ["hi", "weather in Paris and Rome", "long:50", "fault:500"])
def test_same_request_gives_byte_identical_responses(
    client: httpx.Client, text: str, stream: bool
) -> None:
    body = _body(text, stream=stream, stream_options={"include_usage": True} if stream else None)
    first = client.post("/chat/completions", json=body)
    second = client.post("/chat/completions", json=body)
    assert first.status_code == second.status_code
    assert first.content == second.content
    assert first.content


def test_fault_500_and_429_bodies(client: httpx.Client) -> None:
    server_error = client.post("/chat/completions", json=_body("fault:500"))
    assert server_error.status_code == 500
    assert server_error.json()["error"]["type"] == "server_error"
    rate_limited = client.post("/chat/completions", json=_body("fault:429", stream=False))
    assert rate_limited.status_code == 429
    assert rate_limited.headers["retry-after"] == "1"
    assert rate_limited.json()["error"]["message"]


@pytest.mark.parametrize("stream", [True, False])
def test_fault_cut_drops_the_connection(client: httpx.Client, stream: bool) -> None:
    received = b""
    with (
        pytest.raises(httpx.RemoteProtocolError),
        client.stream("POST", "/chat/completions", json=_body("fault:cut", stream=stream)) as cut,
    ):
        assert cut.status_code == 200
        for part in cut.iter_bytes():
            received += part
    assert received
    assert b"[DONE]" not in received


def test_fault_malformed_stream(client: httpx.Client) -> None:
    events = _events(client.post("/chat/completions", json=_body("fault:malformed")).content)
    assert events[-1] == b"[DONE]"
    failures = 0
    for event in events[:-1]:
        try:
            orjson.loads(event)
        except orjson.JSONDecodeError:
            failures += 1
    assert failures == 1


def test_fault_hang_sends_nothing(client: httpx.Client) -> None:
    with pytest.raises(httpx.ReadTimeout):
        client.post("/chat/completions", json=_body("fault:hang"), timeout=0.3)
    # The server is still serving after the client gave up.
    assert client.post("/chat/completions", json=_body("hi")).status_code == 200


@pytest.mark.parametrize(
    ("content", "complaint"),
    [
        (b"{not json", "not valid JSON"),
        (b"[1, 2]", "JSON object"),
        (b"{}", "'messages' is required"),
        (b'{"messages": []}', "non-empty"),
        (b'{"messages": [{"role": "user", "content": "hi"}], "stream": "yes"}', "'stream'"),
        (
            b'{"messages": [{"role": "user", "content": "hi"}], "stream_options": []}',
            "stream_options",
        ),
        (b'{"messages": [{"role": "user", "content": "hi"}], "model": 3}', "'model'"),
    ],
)
def test_bad_requests_get_400_with_an_openai_error(
    client: httpx.Client, content: bytes, complaint: str
) -> None:
    response = client.post(
        "/chat/completions", content=content, headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert complaint in error["message"]


def test_unknown_route_and_wrong_method(client: httpx.Client) -> None:
    missing = client.get("/embeddings")
    assert missing.status_code == 404
    assert "/v1/embeddings" in missing.json()["error"]["message"]
    wrong = client.get("/chat/completions")
    assert wrong.status_code == 405
    assert "POST" in wrong.json()["error"]["message"]


def test_delay_directive_paces_each_chunk(client: httpx.Client) -> None:
    started = time.monotonic()
    arrivals: list[float] = []
    with client.stream("POST", "/chat/completions", json=_body("hi delay:40")) as response:
        for _ in response.iter_bytes():
            arrivals.append(time.monotonic() - started)
    # 11 chunks (role, 9 tokens, finish), each preceded by 40 ms: at least 440 ms in all,
    # and they arrive as separate writes.
    assert arrivals[-1] >= 0.44
    assert arrivals[0] >= 0.04
    assert len(arrivals) > 5


def test_delay_directive_applies_to_non_streamed_replies(client: httpx.Client) -> None:
    started = time.monotonic()
    response = client.post("/chat/completions", json=_body("hi delay:20", stream=False))
    assert response.status_code == 200
    assert time.monotonic() - started >= 11 * 0.02


async def _replies_in_progress(client: httpx.AsyncClient, fake_llm_url: str) -> int:
    response = await client.get(fake_llm_url.removesuffix("/v1") + "/ok")
    return int(response.json()["replies_in_progress"])


async def _wait_for_replies_in_progress(
    client: httpx.AsyncClient, fake_llm_url: str, expected: int
) -> None:
    deadline = time.monotonic() + 10
    while await _replies_in_progress(client, fake_llm_url) != expected:
        assert time.monotonic() < deadline, f"replies in progress never reached {expected}"
        await asyncio.sleep(0.05)


async def test_slow_streams_and_hangs_are_released_when_clients_leave(fake_llm_url: str) -> None:
    # A session-wide server: other tests may be using it, but never concurrently with this one.
    async with httpx.AsyncClient(base_url=fake_llm_url, timeout=10.0) as client:
        assert await _replies_in_progress(client, fake_llm_url) == 0
        leave = asyncio.Event()

        async def read_first_chunk_then_leave(text: str) -> None:
            async with client.stream("POST", "/chat/completions", json=_body(text)) as response:
                async for _ in response.aiter_bytes():
                    await leave.wait()
                    return

        async def wait_for_headers_then_leave() -> None:
            async with client.stream("POST", "/chat/completions", json=_body("fault:hang")):
                pass  # pragma: no cover - the hang never answers

        readers = [
            asyncio.create_task(read_first_chunk_then_leave("long:100000 delay:50"))
            for _ in range(15)
        ]
        hangs = [asyncio.create_task(wait_for_headers_then_leave()) for _ in range(5)]
        await _wait_for_replies_in_progress(client, fake_llm_url, 20)
        leave.set()
        await asyncio.gather(*readers)
        for hang in hangs:
            hang.cancel()
        await asyncio.gather(*hangs, return_exceptions=True)
        # Without cancelling on disconnect, the streams would run for hours and hangs forever.
        await _wait_for_replies_in_progress(client, fake_llm_url, 0)


def test_server_default_token_delay_and_uvicorn() -> None:
    server = start_fake_llm(token_delay_ms=100, server="uvicorn")
    try:
        started = time.monotonic()
        response = httpx.post(server.url + "/v1/chat/completions", json=_body("hi"), timeout=10)
        assert response.status_code == 200
        assert time.monotonic() - started >= 11 * 0.1
        assert response.headers["server"] == "uvicorn"
        # A directive overrides the server's default.
        started = time.monotonic()
        httpx.post(server.url + "/v1/chat/completions", json=_body("hi delay:0"), timeout=10)
        # (Generous bound: the paced reply would take 1.1 s; an unpaced one takes milliseconds.)
        assert time.monotonic() - started < 11 * 0.1
    finally:
        server.__exit__(None, None, None)
