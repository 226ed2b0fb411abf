"""Live mode's model-independent failure (a loopback URL that refuses connections), and a
model that sends usage unasked (vLLM's forced usage chunks) judged as the model's business."""

from __future__ import annotations

import socket
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from conformance import check
from conformance.live_mode import refusing_model_url
from conformance.processes import ServerProcess, free_port
from conformance.scenarios import CATALOGUE
from conformance.transcript import Transcript


def test_the_refusing_url_refuses_while_held_and_frees_its_port() -> None:
    with refusing_model_url() as url:
        parts = urlsplit(url)
        assert parts.hostname == "127.0.0.1" and parts.path == "/v1"
        assert parts.port is not None
        with socket.socket() as client, pytest.raises(ConnectionRefusedError):
            client.connect(("127.0.0.1", parts.port))
        with socket.socket() as other, pytest.raises(OSError):
            other.bind(("127.0.0.1", parts.port))  # nobody else can take it meanwhile
    with socket.socket() as after:
        after.bind(("127.0.0.1", parts.port))


GREETINGS = ("stream_messages_greeting", "stream_messages_tuple_greeting", "stream_values_greeting")
USAGE_PROXY = Path(__file__).parents[1] / "live" / "tool_forcing_proxy.py"


@pytest.fixture(scope="module")
def usage_forcing_model_url(fake_llm_url: str) -> Iterator[str]:
    """The fake LLM behind a proxy that asks for a usage chunk on every stream, as vLLM with
    ``--enable-force-include-usage`` sends one unasked."""
    port = free_port()
    proxy = ServerProcess(
        [
            sys.executable,
            str(USAGE_PROXY),
            *("--upstream", fake_llm_url, "--port", str(port), "--force", "usage"),
        ],
        port=port,
        ready_path="/v1/models",
        name="usage-forcing-proxy",
    ).start()
    try:
        yield proxy.url + "/v1"
    finally:
        proxy.stop()


async def test_forced_usage_chunks_are_the_models_business_in_live_mode(
    usage_forcing_model_url: str,
) -> None:
    server = check.start_reference_server()
    transcripts: dict[str, Transcript] = {}
    try:
        result = await check.check_target(
            [CATALOGUE[name] for name in GREETINGS],
            check.Target(url=server.url, llm_url=usage_forcing_model_url, llm_mode="live"),
            transcripts=transcripts,
        )
    finally:
        server.stop()
    assert not result.fatal_error, result.fatal_error
    failures = [f for s in result.scenarios for f in s.findings if f.is_failure]
    assert failures == [], [f"{f.rule} at {f.location()}: {f.message}" for f in failures]
    # The usage really came: the streamed AI message carries usage_metadata where the
    # recording (no usage asked) has null.
    body = transcripts["stream_messages_greeting"].exchange("stream").response.body
    assert b'"usage_metadata":{"input_tokens"' in body.replace(b" ", b"")
