"""Start the fake LLM as a child process on a free loopback port (for tests and the suite)."""

from __future__ import annotations

from conformance.processes import ServerProcess, free_port, python_module

READY_PATH = "/ok"


def start_fake_llm(
    port: int | None = None, token_delay_ms: int = 0, *, server: str = "auto"
) -> ServerProcess:
    """A started fake LLM; its OpenAI base url is ``process.url + "/v1"``.

    The caller stops it with ``process.stop()``. (Do not enter it with ``with``: that would
    start it a second time.)
    """
    chosen_port = free_port() if port is None else port
    argv = python_module(
        "conformance.fake_llm",
        "--host",
        "127.0.0.1",
        "--port",
        str(chosen_port),
        "--token-delay-ms",
        str(token_delay_ms),
        "--server",
        server,
    )
    return ServerProcess(
        argv, port=chosen_port, ready_path=READY_PATH, name="fake-llm", start_timeout=30.0
    ).start()
