"""Start the ground truth: a live ``langgraph dev`` (langgraph-api, in-memory runtime).

It runs quietly and offline (no analytics, no version check, no tracing, no API keys), on a
free loopback port, never 2024. ``langgraph dev`` keeps its state in ``.langgraph_api/``
under its working directory and reloads it on start; so each start gets a fresh temporary
working directory holding a copy of the config with its paths made absolute, and recordings
begin from an empty server. The directory is removed when the server stops.

langgraph-api is Elastic-licensed: it is started and observed here, never imported.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx

from conformance.processes import ServerProcess, ServerStartError, free_port

RESERVED_PORT = 2024
"""The machine's own service lives there."""

READY_PATH = "/ok"

_BIND_GRACE_SECONDS = 0.5
_START_ATTEMPTS = 3

_QUIET_ENVIRONMENT = {
    "LANGGRAPH_CLI_NO_ANALYTICS": "1",
    "LANGGRAPH_NO_VERSION_CHECK": "true",
    "LANGSMITH_TRACING": "false",
    "LANGSMITH_TRACING_V2": "false",
    "LANGCHAIN_TRACING_V2": "false",
    "LANGCHAIN_TRACING": "false",
    # Some metadata (thread_id, run_id in checkpoint metadata) is built by iterating a set:
    # a fixed hash seed keeps its key order, so two recordings differ only in volatile values.
    "PYTHONHASHSEED": "0",
}


class PortTaken(ServerStartError):
    """Something other than our ``langgraph dev`` answered on its port."""


class LangGraphDev(ServerProcess):
    """A ``langgraph dev`` child; ``stop()`` also removes its temporary working directory."""

    def __init__(self, argv: list[str], *, port: int, env: dict[str, str], workdir: Path) -> None:
        super().__init__(
            argv,
            port=port,
            ready_path=READY_PATH,
            cwd=workdir,
            start_timeout=90.0,
            name="langgraph-dev",
        )
        # ServerProcess layers env over os.environ; keys must be removable too (API keys).
        self.env = env
        self.workdir = workdir

    def start(self) -> LangGraphDev:
        super().start()
        self._confirm_it_is_ours()
        return self

    def _confirm_it_is_ours(self) -> None:
        # The port was free a moment before the child bound it; another server started in
        # the meantime can take it, answer GET /ok in our child's place, and leave our child
        # to exit on a failed bind. Only our langgraph dev answers /info and keeps running.
        time.sleep(_BIND_GRACE_SECONDS)
        reason = ""
        if self.process is not None and self.process.poll() is not None:
            reason = f"it exited with code {self.process.returncode} after answering"
        else:
            try:
                info = httpx.get(self.url + "/info", timeout=5.0).json()
                if not (isinstance(info, dict) and "version" in info):
                    reason = f"GET /info answered {info!r}, not langgraph-api's info"
            except (httpx.HTTPError, ValueError) as error:
                reason = f"GET /info failed: {error}"
        if reason:
            self.stop()
            raise PortTaken(f"{self.name} on {self.url}: {reason}:\n{self.log_tail()}")

    def stop(self, timeout: float = 10.0) -> None:
        try:
            super().stop(timeout)
        finally:
            shutil.rmtree(self.workdir, ignore_errors=True)


def start_langgraph_dev(
    config_path: str | Path,
    port: int | None = None,
    env: Mapping[str, str] | None = None,
    *,
    n_jobs_per_worker: int | None = None,
) -> LangGraphDev:
    """Start ``langgraph dev`` serving ``config_path`` (a ``langgraph.json``) and wait until it
    answers ``GET /ok``. The caller stops it with ``.stop()``.

    ``env`` adds variables for the server (and its graphs); every ``*_API_KEY`` of this
    process's environment is removed, and telemetry is turned off whatever ``env`` says.
    Without ``port``, a free port is chosen, and another one if a concurrent server took it.
    """
    config_file = Path(config_path).resolve()
    if not config_file.is_file():
        raise FileNotFoundError(f"langgraph config not found: {config_file}")
    if port == RESERVED_PORT:
        raise ValueError(f"port {RESERVED_PORT} belongs to the machine's own service; pick another")
    attempts = 1 if port is not None else _START_ATTEMPTS
    for attempt in range(1, attempts + 1):
        try:
            return _start_once(
                config_file, port or _free_port_but_reserved(), env or {}, n_jobs_per_worker
            )
        except PortTaken:
            if attempt == attempts:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def _free_port_but_reserved() -> int:
    while (port := free_port()) == RESERVED_PORT:
        continue
    return port


def _start_once(
    config_file: Path, port: int, env: Mapping[str, str], n_jobs_per_worker: int | None
) -> LangGraphDev:
    workdir = Path(tempfile.mkdtemp(prefix="langgraph-dev-"))
    try:
        local_config = workdir / "langgraph.json"
        local_config.write_text(
            json.dumps(_absolute_config(config_file), indent=2), encoding="utf-8"
        )
        argv = [
            _langgraph_executable(),
            "dev",
            "--no-browser",
            "--no-reload",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--config",
            str(local_config),
        ]
        if n_jobs_per_worker is not None:
            argv += ["--n-jobs-per-worker", str(n_jobs_per_worker)]
        server = LangGraphDev(
            argv, port=port, env=_server_environment(config_file.parent, env), workdir=workdir
        )
    except BaseException:
        shutil.rmtree(workdir, ignore_errors=True)
        raise
    try:
        return server.start()
    except BaseException:
        server.stop()
        raise


def _langgraph_executable() -> str:
    # The CLI installed next to this interpreter, i.e. in the project's venv.
    candidate = Path(sys.executable).parent / "langgraph"
    if candidate.exists():
        return str(candidate)
    found = shutil.which("langgraph")
    if found is None:
        raise FileNotFoundError(
            "the `langgraph` CLI is not installed; install the oracle extra: "
            "langgraph-cli[inmem] (see pyproject.toml [project.optional-dependencies] oracle)"
        )
    return found


def _absolute_config(config_file: Path) -> dict[str, Any]:
    """The config with every file path made absolute, so it works from any directory."""
    try:
        config = json.loads(config_file.read_text(encoding="utf-8"))
    except ValueError as error:
        raise ValueError(f"{config_file}: not valid JSON: {error}") from error
    base = config_file.parent
    config["dependencies"] = [
        _absolute_path(base, dependency) for dependency in config.get("dependencies", [])
    ]
    config["graphs"] = {
        name: _absolute_graph_spec(base, spec) for name, spec in config.get("graphs", {}).items()
    }
    if isinstance(config.get("env"), str):
        config["env"] = _absolute_path(base, config["env"])
    return config


def _absolute_path(base: Path, value: str) -> str:
    # Package names ("langchain_openai") are dependencies too: only rewrite real paths.
    candidate = (base / value).resolve()
    return str(candidate) if value.startswith(".") or candidate.exists() else value


def _absolute_graph_spec(base: Path, spec: Any) -> Any:
    if isinstance(spec, dict):  # {"path": "...", "description": ...}
        return {**spec, "path": _absolute_graph_spec(base, spec.get("path"))}
    if not isinstance(spec, str) or ":" not in spec:
        return spec
    location, attribute = spec.rsplit(":", 1)
    if location.endswith(".py") or location.startswith(("./", "../")):
        return f"{(base / location).resolve()}:{attribute}"
    return spec  # a module path, importable through PYTHONPATH


def _server_environment(project_root: Path, extra: Mapping[str, str]) -> dict[str, str]:
    environment = {
        key: value for key, value in os.environ.items() if not key.upper().endswith("_API_KEY")
    }
    environment.update(extra)
    environment.update(_QUIET_ENVIRONMENT)
    # Module graph specs ("agent.scenario_graphs:...") import from the project root.
    existing = environment.get("PYTHONPATH", "")
    environment["PYTHONPATH"] = os.pathsep.join(
        part for part in (str(project_root), existing) if part
    )
    return environment
