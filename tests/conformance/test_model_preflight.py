"""The model endpoint is asked before the target is judged: down, refusing the key, or not
serving the model named is a sentence naming the endpoint, never a failure charged to the
target."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from conformance.live_mode import refusing_model_url
from conformance.model_preflight import (
    SCENARIO_GRAPHS_DEFAULT_MODEL,
    ModelEndpointUnavailable,
    check_model_endpoint,
)

SERVED = "served-name"


def _vllm_like_handler(
    required_key: str | None, *, auto_tool_choice: bool = True
) -> type[http.server.BaseHTTPRequestHandler]:
    """Answers as vLLM does: lists only the ``--served-model-name`` and 404s any other
    name (its error body), 401 without the ``--api-key`` it was started with, 400 for a
    request offering tools unless started with ``--enable-auto-tool-choice``."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def _send(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _authorised(self) -> bool:
            if required_key and self.headers.get("authorization") != f"Bearer {required_key}":
                self._send(401, {"error": "Unauthorized"})
                return False
            return True

        def do_GET(self) -> None:
            if self._authorised():
                self._send(200, {"object": "list", "data": [{"id": SERVED, "object": "model"}]})

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["content-length"])))
            if not self._authorised():
                return
            if body.get("tools") and not auto_tool_choice:
                message = (
                    '"auto" tool choice requires --enable-auto-tool-choice and '
                    "--tool-call-parser to be set"
                )
                self._send(400, {"object": "error", "message": message, "code": 400})
                return
            if body["model"] != SERVED:
                self._send(
                    404,
                    {
                        "object": "error",
                        "message": f"The model `{body['model']}` does not exist.",
                        "type": "NotFoundError",
                        "code": 404,
                    },
                )
                return
            self._send(200, {"choices": [{"index": 0, "message": {"content": "Hi"}}]})

        def log_message(self, *args: Any) -> None:
            pass

    return Handler


@pytest.fixture
def vllm_like() -> Iterator[str]:
    yield from _serve(_vllm_like_handler(None))


@pytest.fixture
def vllm_like_with_key() -> Iterator[str]:
    yield from _serve(_vllm_like_handler("sesame"))


@pytest.fixture
def vllm_like_without_tool_parser() -> Iterator[str]:
    yield from _serve(_vllm_like_handler(None, auto_tool_choice=False))


def _serve(handler: type[http.server.BaseHTTPRequestHandler]) -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()


async def test_an_endpoint_that_refuses_connections_is_named() -> None:
    with refusing_model_url() as url, pytest.raises(ModelEndpointUnavailable) as raised:
        await check_model_endpoint(url, model="any", timeout=5)
    message = str(raised.value)
    assert message.startswith(f"the model endpoint {url} is unreachable")
    assert "--llm-url" in message


async def test_the_fake_llm_answers_any_name_and_the_report_says_so(fake_llm_url: str) -> None:
    status = await check_model_endpoint(fake_llm_url, model="not-listed", timeout=10)
    assert status.served_models
    assert "not-listed" not in status.served_models
    assert "answered for model 'not-listed'" in status.note


async def test_a_served_name_passes_without_a_note(vllm_like: str) -> None:
    status = await check_model_endpoint(vllm_like, model=SERVED, timeout=10)
    assert status.served_models == (SERVED,)
    assert status.note == ""


async def test_vllms_404_for_a_name_it_does_not_serve_is_shown(vllm_like: str) -> None:
    with pytest.raises(ModelEndpointUnavailable) as raised:
        await check_model_endpoint(vllm_like, model=SCENARIO_GRAPHS_DEFAULT_MODEL, timeout=10)
    message = str(raised.value)
    assert f"the model endpoint {vllm_like} answered 404" in message
    assert f"does not serve model {SCENARIO_GRAPHS_DEFAULT_MODEL!r}" in message
    assert f"it lists {SERVED}" in message and "--llm-model" in message
    assert "does not exist" in message  # the endpoint's own words


async def test_a_missing_or_wrong_key_is_named(vllm_like_with_key: str) -> None:
    for key in (None, "wrong"):
        with pytest.raises(ModelEndpointUnavailable, match=r"answered 401.*--llm-api-key"):
            await check_model_endpoint(vllm_like_with_key, model=SERVED, api_key=key, timeout=10)
    status = await check_model_endpoint(
        vllm_like_with_key, model=SERVED, api_key="sesame", timeout=10
    )
    assert status.served_models == (SERVED,)


async def test_vllm_without_a_tool_parser_is_named(vllm_like_without_tool_parser: str) -> None:
    with pytest.raises(ModelEndpointUnavailable) as raised:
        await check_model_endpoint(vllm_like_without_tool_parser, model=SERVED, timeout=10)
    message = str(raised.value)
    assert "answered 400" in message and "refuses the tools" in message
    assert "--enable-auto-tool-choice --tool-call-parser hermes" in message


def test_the_default_name_is_the_scenario_graphs_own() -> None:
    from agent.model_endpoint import DEFAULT_MODEL_NAME

    assert SCENARIO_GRAPHS_DEFAULT_MODEL == DEFAULT_MODEL_NAME
