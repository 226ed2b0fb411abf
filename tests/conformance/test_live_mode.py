"""Live mode's model-independent failure: a loopback URL that refuses connections."""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

import pytest

from conformance.live_mode import refusing_model_url


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
