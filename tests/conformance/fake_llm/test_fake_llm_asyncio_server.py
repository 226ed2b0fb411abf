"""The fake LLM on the standard-library server a bare install uses: the same replies, faults
and pacing on the wire as on granian."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import orjson
import pytest

from conformance.fake_llm.process import start_fake_llm
from conformance.processes import ServerProcess


@pytest.fixture(scope="module")
def server() -> Iterator[ServerProcess]:
    process = start_fake_llm(server="asyncio")
    try:
        yield process
    finally:
        process.stop()


def _body(text: str, *, stream: bool = True) -> dict[str, object]:
    return {"model": "fake", "stream": stream, "messages": [{"role": "user", "content": text}]}


def test_a_streamed_greeting_is_chunked_server_sent_events(server: ServerProcess) -> None:
    response = httpx.post(server.url + "/v1/chat/completions", json=_body("hi"), timeout=10)
    assert response.status_code == 200
    assert response.headers["transfer-encoding"] == "chunked"
    assert response.headers["content-type"] == "text/event-stream; charset=utf-8"
    events = response.content[:-2].split(b"\n\n")
    assert events[-1] == b"data: [DONE]"
    chunks = [orjson.loads(event.removeprefix(b"data: ")) for event in events[:-1]]
    text = "".join(chunk["choices"][0]["delta"].get("content") or "" for chunk in chunks)
    assert text == "Hello! How can I help you today?"


def test_a_completion_readiness_and_an_unknown_route(server: ServerProcess) -> None:
    response = httpx.post(
        server.url + "/v1/chat/completions", json=_body("hi", stream=False), timeout=10
    )
    assert response.status_code == 200
    assert response.json()["choices"][0]["message"]["content"] == (
        "Hello! How can I help you today?"
    )
    assert httpx.get(server.url + "/ok", timeout=10).json()["status"] == "ok"
    assert httpx.get(server.url + "/nowhere", timeout=10).status_code == 404


def test_faults_reach_the_wire(server: ServerProcess) -> None:
    failed = httpx.post(server.url + "/v1/chat/completions", json=_body("fault:500"), timeout=10)
    assert failed.status_code == 500
    with pytest.raises(httpx.RemoteProtocolError):
        httpx.post(server.url + "/v1/chat/completions", json=_body("fault:cut"), timeout=10)
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(server.url + "/v1/chat/completions", json=_body("fault:hang"), timeout=0.5)


def test_pacing_and_a_client_that_leaves(server: ServerProcess) -> None:
    started = time.monotonic()
    response = httpx.post(
        server.url + "/v1/chat/completions", json=_body("hi delay:100"), timeout=10
    )
    assert response.status_code == 200
    assert time.monotonic() - started >= 1.0
    with httpx.stream(
        "POST", server.url + "/v1/chat/completions", json=_body("long:100000 delay:20"), timeout=10
    ) as stream:
        next(stream.iter_raw())
    deadline = time.monotonic() + 10
    while httpx.get(server.url + "/ok", timeout=10).json()["replies_in_progress"] != 0:
        assert time.monotonic() < deadline, "the abandoned stream was never cancelled"
        time.sleep(0.05)
