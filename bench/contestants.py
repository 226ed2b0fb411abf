"""Start everything a benchmark run compares, each in its own process on loopback, sharing one
fake LLM: the reference server (in memory, on its SQLite default in a temporary directory, and
on a Postgres cluster of its own with one and with two workers), ``langgraph dev`` as it ships and with more concurrent jobs, the in-process
floor, the HTTP floor (the graph behind bare ASGI, ``bench.http_floor``), and the fake LLM read
directly."""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

from bench.fake_llm_driver import FakeLlmDriver
from bench.floor_driver import FloorDriver, FloorWorkerError
from bench.http_driver import Endpoint, LangGraphHttpDriver
from bench.samples import BatchResult, HoldOutcome
from bench.workloads import Workload
from conformance.processes import ServerProcess, ServerStartError, free_port, python_module

Measured = TypeVar("Measured")

REFERENCE = "reference"
REFERENCE_SQLITE = "reference-sqlite"
LANGGRAPH_DEV = "langgraph-dev"
LANGGRAPH_DEV_JOBS = "langgraph-dev-jobs"
FLOOR = "floor"
HTTP_FLOOR = "http-floor"
FAKE_LLM = "fake-llm"
REFERENCE_POSTGRES = "reference-postgres"
REFERENCE_POSTGRES_TWO_WORKERS = "reference-postgres-2w"
POSTGRES_WORKERS = {REFERENCE_POSTGRES: 1, REFERENCE_POSTGRES_TWO_WORKERS: 2}
ALL_CONTESTANTS = (
    REFERENCE,
    REFERENCE_SQLITE,
    REFERENCE_POSTGRES,
    REFERENCE_POSTGRES_TWO_WORKERS,
    LANGGRAPH_DEV,
    LANGGRAPH_DEV_JOBS,
    HTTP_FLOOR,
    FLOOR,
    FAKE_LLM,
)

# Whatever the caller's environment says, the servers run offline and untraced.
_QUIET_ENVIRONMENT = {
    "LANGSMITH_TRACING": "false",
    "LANGSMITH_TRACING_V2": "false",
    "LANGCHAIN_TRACING_V2": "false",
    "LANGCHAIN_TRACING": "false",
    "LANGGRAPH_CLI_NO_ANALYTICS": "1",
    "LANGGRAPH_NO_VERSION_CHECK": "true",
}


class Driver(Protocol):
    async def run_batch(
        self, workload: Workload, *, concurrency: int, runs: int
    ) -> BatchResult: ...

    async def hold(
        self,
        workload: Workload,
        *,
        count: int,
        open_timeout: float,
        hold_seconds: float,
        measure: Callable[[], Awaitable[Measured]],
    ) -> tuple[HoldOutcome, Measured]: ...


@dataclass(frozen=True, slots=True)
class Contestant:
    key: str
    label: str
    """How the report names it."""
    driver: Driver
    pid: int
    """Root of the process tree whose CPU and memory are this contestant's."""


@dataclass(frozen=True, slots=True)
class ContestantOptions:
    config_path: Path
    graph_id: str
    stream_mode: tuple[str, ...]
    endpoint: Endpoint
    run_timeout: float
    reference_max_concurrent_runs: int
    langgraph_dev_jobs: int
    floor_checkpointer: bool


def _reference_argv(
    options: ContestantOptions, port: int, *, database: str | None = None, workers: int = 1
) -> list[str]:
    """The reference server's command line: on ``database`` (a SQLite file or a Postgres URL),
    else ``--in-memory``."""
    argv = python_module(
        "reference_server",
        "--config",
        str(options.config_path),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--max-concurrent-runs",
        str(options.reference_max_concurrent_runs),
    )
    if database is None:
        argv.append("--in-memory")
    else:
        argv += ["--database", database]
        if workers > 1:
            argv += ["--workers", str(workers)]
    return argv


def _start_reference(
    options: ContestantOptions, *, database: str | None = None, workers: int = 1
) -> ServerProcess:
    port = free_port()
    argv = _reference_argv(options, port, database=database, workers=workers)
    return _start_server(options, argv, port, name="reference-server")


def _start_http_floor(options: ContestantOptions) -> ServerProcess:
    port = free_port()
    argv = python_module(
        "bench.http_floor",
        "--config",
        str(options.config_path),
        "--graph",
        options.graph_id,
        "--stream-mode",
        ",".join(options.stream_mode),
        "--port",
        str(port),
    )
    return _start_server(options, argv, port, name="http-floor")


def _start_server(
    options: ContestantOptions, argv: list[str], port: int, *, name: str
) -> ServerProcess:
    """One of our servers, started offline and untraced beside the config; ready at /ok."""
    return ServerProcess(
        argv,
        port=port,
        ready_path="/ok",
        env=_QUIET_ENVIRONMENT,
        cwd=options.config_path.parent,
        start_timeout=90.0,
        name=name,
    ).start()


def _start_langgraph_dev(options: ContestantOptions, jobs: int | None) -> ServerProcess:
    # Imported here: only a run that includes `langgraph dev` needs the oracle extra.
    from conformance.oracle import start_langgraph_dev

    return start_langgraph_dev(options.config_path, env=_QUIET_ENVIRONMENT, n_jobs_per_worker=jobs)


async def _postgres(stack: AsyncExitStack) -> str:
    """The URL of a throwaway Postgres cluster, removed when ``stack`` closes."""
    # Imported here: only a run with a Postgres contestant needs the binaries and the driver.
    from conformance.postgres import PostgresUnavailableError, throwaway_postgres

    cluster = throwaway_postgres()
    try:
        url = await asyncio.to_thread(cluster.__enter__)
    except PostgresUnavailableError as error:
        raise ContestantStartError(str(error)) from error
    stack.push(cluster.__exit__)
    return url


def _sqlite_file(stack: AsyncExitStack) -> str:
    """A SQLite file in a temporary directory, removed (with the server's other files there)
    when ``stack`` closes: the server as ``reference-server --config langgraph.json`` runs it."""
    directory = tempfile.TemporaryDirectory(prefix="bench-reference-sqlite-")
    stack.callback(directory.cleanup)
    return str(Path(directory.name) / "reference-server.sqlite")


async def _server(stack: AsyncExitStack, start: Callable[[], ServerProcess]) -> ServerProcess:
    server = await asyncio.to_thread(start)
    stack.callback(server.stop)
    return server


class ContestantStartError(RuntimeError):
    """A contestant could not be started; the message says why."""


class Launcher:
    """Starts contestants on demand, all against the same fake LLM (already started)."""

    def __init__(self, options: ContestantOptions, llm: ServerProcess) -> None:
        self.options = options
        self.llm = llm
        self.llm_url = llm.url + "/v1"

    async def start(
        self, stack: AsyncExitStack, keys: Sequence[str]
    ) -> tuple[list[Contestant], dict[str, str]]:
        """Start the named contestants in parallel, in the order given, each stopped when
        ``stack`` closes. Returns the started ones and, for each that could not start, why (the
        run goes on without it and says so)."""
        unknown = [key for key in keys if key not in ALL_CONTESTANTS]
        if unknown:
            raise ValueError(
                f"unknown contestant(s) {', '.join(unknown)}; known: {', '.join(ALL_CONTESTANTS)}"
            )
        # Every start is let finish (each started one is on the stack) before a failure is
        # reported, so none is left running.
        outcomes = await asyncio.gather(
            *(self.start_one(stack, key) for key in keys), return_exceptions=True
        )
        contestants: list[Contestant] = []
        not_started: dict[str, str] = {}
        for key, outcome in zip(keys, outcomes, strict=True):
            if isinstance(outcome, Contestant):
                contestants.append(outcome)
            elif isinstance(outcome, Exception):
                not_started[key] = str(outcome)
            else:
                raise outcome
        return contestants, not_started

    async def start_one(self, stack: AsyncExitStack, key: str) -> Contestant:
        """A started contestant (a new process, except the fake LLM read directly, which is the
        shared one), stopped when ``stack`` closes; ContestantStartError says why not."""
        options = self.options
        label = _label(key, options)
        try:
            servers = (REFERENCE, REFERENCE_SQLITE, LANGGRAPH_DEV, LANGGRAPH_DEV_JOBS, HTTP_FLOOR)
            if key in servers or key in POSTGRES_WORKERS:
                database = None
                if key in POSTGRES_WORKERS:
                    database = await _postgres(stack)
                elif key == REFERENCE_SQLITE:
                    database = _sqlite_file(stack)
                starter: Callable[[], ServerProcess] = {
                    REFERENCE: lambda: _start_reference(options),
                    REFERENCE_SQLITE: lambda: _start_reference(options, database=database),
                    REFERENCE_POSTGRES: lambda: _start_reference(
                        options, database=database, workers=1
                    ),
                    REFERENCE_POSTGRES_TWO_WORKERS: lambda: _start_reference(
                        options, database=database, workers=2
                    ),
                    LANGGRAPH_DEV: lambda: _start_langgraph_dev(options, None),
                    LANGGRAPH_DEV_JOBS: lambda: _start_langgraph_dev(
                        options, options.langgraph_dev_jobs
                    ),
                    HTTP_FLOOR: lambda: _start_http_floor(options),
                }[key]
                server = await _server(stack, starter)
                driver: Any = await stack.enter_async_context(
                    LangGraphHttpDriver(
                        server.url,
                        graph_id=options.graph_id,
                        llm_url=self.llm_url,
                        stream_mode=options.stream_mode,
                        endpoint=options.endpoint,
                        run_timeout=options.run_timeout,
                    )
                )
                return Contestant(key, label, driver, _pid(server, key))
            if key == FLOOR:
                floor = await stack.enter_async_context(
                    FloorDriver(
                        options.config_path,
                        graph_id=options.graph_id,
                        llm_url=self.llm_url,
                        stream_mode=options.stream_mode,
                        checkpointer=options.floor_checkpointer,
                    )
                )
                return Contestant(key, label, floor, floor.pid)
            if key == FAKE_LLM:
                direct = await stack.enter_async_context(
                    FakeLlmDriver(self.llm_url, run_timeout=options.run_timeout)
                )
                return Contestant(key, label, direct, _pid(self.llm, key))
        except (ServerStartError, FloorWorkerError, TimeoutError, OSError) as error:
            raise ContestantStartError(f"{type(error).__name__}: {error}") from error
        raise ValueError(f"unknown contestant {key!r}; known: {', '.join(ALL_CONTESTANTS)}")


def _pid(server: ServerProcess, key: str) -> int:
    if server.process is None:
        raise ContestantStartError(f"{key} has no process after starting")
    return server.process.pid


def _label(key: str, options: ContestantOptions) -> str:
    if key in (REFERENCE, REFERENCE_SQLITE):
        storage = "in-memory" if key == REFERENCE else "SQLite default"
        return f"reference server ({storage}, {options.reference_max_concurrent_runs} runs at once)"
    if key in POSTGRES_WORKERS:
        workers = POSTGRES_WORKERS[key]
        return (
            f"reference server (Postgres, {workers} worker{'s' if workers > 1 else ''}, "
            f"{options.reference_max_concurrent_runs} runs at once each; Postgres's own CPU "
            "not counted)"
        )
    if key == LANGGRAPH_DEV:
        return "langgraph dev (as it ships)"
    if key == LANGGRAPH_DEV_JOBS:
        return f"langgraph dev --n-jobs-per-worker {options.langgraph_dev_jobs}"
    if key == FLOOR:
        saver = "InMemorySaver" if options.floor_checkpointer else "no checkpointer"
        return f"floor: graph.astream in-process ({saver})"
    if key == HTTP_FLOOR:
        return "HTTP floor: the graph behind bare ASGI on granian, no records (InMemorySaver)"
    return "floor: fake LLM read directly"
