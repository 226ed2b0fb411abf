"""``conformance fake-llm``: serve the fake LLM with granian (the default when installed: the
``[fake-llm]`` extra), uvicorn, or a small server on the standard library alone (``asyncio``,
what a bare install of the suite uses)."""

from __future__ import annotations

import argparse
import importlib.util
import os

from conformance.fake_llm import DEFAULT_PORT
from conformance.fake_llm.app import TOKEN_DELAY_ENVIRONMENT_VARIABLE, create_app

SERVERS = ("auto", "granian", "uvicorn", "asyncio")
_EXTRA_HINT = "pip install 'langgraph-stream-conformance[fake-llm]'"
_APP_FACTORY = "conformance.fake_llm.app:app_from_environment"
# Both servers refuse connections past their backlog and, for granian, past its backpressure
# (concurrent requests per worker, by default backlog // workers): the benchmarks hold a
# thousand slow streams open and start hundreds at once, so leave ample room.
_BACKLOG = 4096
_MAX_CONCURRENT_REQUESTS = 16384


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument(
        "--port", type=_port, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT})"
    )
    parser.add_argument(
        "--token-delay-ms",
        type=_non_negative_int,
        default=0,
        help="pause before each streamed chunk unless a request says delay:MS (default 0)",
    )
    parser.add_argument(
        "--server",
        choices=SERVERS,
        default="auto",
        help="ASGI server to run on (default auto: granian when installed, the faster here, "
        "else asyncio from the standard library; see docs/fake-llm.md)",
    )


def chosen_server(requested: str) -> str:
    """``auto`` -> granian when it (and uvloop) are installed, else asyncio."""
    if requested != "auto":
        return requested
    return "granian" if _installed("granian", "uvloop") else "asyncio"


def _installed(*modules: str) -> bool:
    return all(importlib.util.find_spec(module) is not None for module in modules)


def run(args: argparse.Namespace) -> int:
    server = chosen_server(args.server)
    needs = {"granian": ("granian", "uvloop"), "uvicorn": ("uvicorn", "uvloop", "httptools")}
    if not _installed(*needs.get(server, ())):
        print(
            f"conformance fake-llm: --server {server} needs {', '.join(needs[server])}, "
            f"not installed: {_EXTRA_HINT}, or use --server asyncio"
        )
        return 2
    if server == "uvicorn":
        _serve_with_uvicorn(args.host, args.port, args.token_delay_ms)
    elif server == "asyncio":
        from conformance.fake_llm import asyncio_server

        asyncio_server.run(create_app(args.token_delay_ms), args.host, args.port)
    else:
        _serve_with_granian(args.host, args.port, args.token_delay_ms)
    return 0


def _serve_with_granian(host: str, port: int, token_delay_ms: int) -> None:
    from granian import Granian
    from granian.constants import HTTPModes, Interfaces, Loops
    from granian.log import LogLevels

    # Granian's worker imports the app itself, so the delay travels through the environment.
    os.environ[TOKEN_DELAY_ENVIRONMENT_VARIABLE] = str(token_delay_ms)
    Granian(
        _APP_FACTORY,
        factory=True,
        address=host,
        port=port,
        interface=Interfaces.ASGI,
        workers=1,
        loop=Loops.uvloop,
        http=HTTPModes.http1,
        websockets=False,
        backlog=_BACKLOG,
        backpressure=_MAX_CONCURRENT_REQUESTS,
        log_level=LogLevels.warning,
        log_access=False,
    ).serve()


def _serve_with_uvicorn(host: str, port: int, token_delay_ms: int) -> None:
    import uvicorn

    uvicorn.run(
        create_app(token_delay_ms),
        host=host,
        port=port,
        loop="uvloop",
        http="httptools",
        ws="none",
        lifespan="off",
        backlog=_BACKLOG,
        log_level="warning",
        access_log=False,
    )


def _port(text: str) -> int:
    value = _non_negative_int(text)
    if value > 65535:
        raise argparse.ArgumentTypeError(f"a port is at most 65535, got {value}")
    return value


def _non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {value}")
    return value
