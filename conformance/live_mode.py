"""What ``--llm live`` changes besides relaxing the comparison: defaults that fit a real model,
and a model for the fault scenarios that fails the same way whatever the live model.

A real model answers one request at a time, in seconds per turn on a CPU, so a live run checks
one scenario at a time with a longer bound on each step. The fault scenarios need the model
call to fail: the fake LLM fails on ``fault:500``, a real model obeys no such directive. So in
live mode the suite starts its fake LLM for those runs alone (their run config names it): the
model call fails with the very 500 the recording has, for any live model and any server, and
the error values stay comparable. ``refusing_model_url`` gives an endpoint that is down.
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator

from conformance.fake_llm.process import start_fake_llm

LIVE_CONCURRENCY = 1
LIVE_STEP_TIMEOUT_SECONDS = 180.0
"""A tool round trip is two model turns; a small CPU model with no token limit may take a
minute for one when other work shares the cores."""


@contextlib.contextmanager
def refusing_model_url() -> Iterator[str]:
    """An OpenAI-style base URL on loopback that refuses every connection while the context
    is open.

    The port is bound but never listened on, so the kernel answers each connection attempt
    with a reset, and no other process can take the port meanwhile (a fixed "unused" port
    could be taken).
    """
    held = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        held.bind(("127.0.0.1", 0))
        port = held.getsockname()[1]
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        held.close()


@contextlib.contextmanager
def failing_model_url() -> Iterator[str]:
    """The base URL of a fake LLM started for the fault scenarios (it answers their
    ``fault:500`` with HTTP 500), stopped when the context closes."""
    fake_llm = start_fake_llm()
    try:
        yield fake_llm.url + "/v1"
    finally:
        fake_llm.stop()
