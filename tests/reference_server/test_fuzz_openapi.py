"""Every JSON route of ``/openapi.json`` fuzzed by schemathesis against the reference server on
its SQLite default: not one answer may be a server error. Bounded (a fixed seed, a few examples
per operation), loopback only; the long-lived operations (``/stream``, ``/wait``, ``/join``)
are left out, as a fuzzer cannot bound how long they stay open."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from conformance.processes import ServerProcess

StartServer = Callable[[Path], ServerProcess]
"""The ``start_server`` fixture (conftest.py): a started server on that SQLite file."""

MAX_EXAMPLES = 5
SEED = 20261128
TIME_LIMIT_SECONDS = 600


def test_no_fuzzed_request_gets_a_server_error(tmp_path: Path, start_server: StartServer) -> None:
    server = start_server(tmp_path / "state.sqlite")
    argv = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "run",
        f"{server.url}/openapi.json",
        "--checks",
        "not_a_server_error",
        "--max-examples",
        str(MAX_EXAMPLES),
        "--seed",
        str(SEED),
        "--exclude-path-regex",
        "/(stream|wait|join)$",
        "--request-timeout",
        "30",
        # One worker: with two, hypothesis's lambda descriptions race (SystemError) at times.
        "--workers",
        "1",
        "--suppress-health-check",
        "all",
        "--generation-database",
        "none",
        "--no-color",
    ]
    result = subprocess.run(
        argv, capture_output=True, text=True, timeout=TIME_LIMIT_SECONDS, cwd=tmp_path
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-6000:] + "\n--- server log ---\n" + server.log_tail()
    assert " passed" in output and "Server error" not in output, output[-3000:]
    assert "Traceback" not in server.log_tail(2000), server.log_tail(80)
