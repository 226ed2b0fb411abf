"""Start a server as a child process on a free loopback port, wait until it answers, stop it.

Used for everything the suite and the tests start: the fake LLM, the reference server and
``langgraph dev``. Only the process started here is ever stopped, by its own process group.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType

import httpx


def free_port(host: str = "127.0.0.1") -> int:
    """A port that was free a moment ago. The caller binds it right away."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


class ServerStartError(RuntimeError):
    """The child exited or never answered; the message carries the end of its log."""


class ServerProcess:
    """A child server: ``with ServerProcess([...], port=p) as server: server.url``.

    The child's stdout and stderr go to a log file (``server.log_path``) so a failing start can
    say why, and a chatty child never blocks on a full pipe.
    """

    def __init__(
        self,
        argv: Sequence[str],
        *,
        port: int,
        host: str = "127.0.0.1",
        ready_path: str = "/ok",
        env: Mapping[str, str] | None = None,
        cwd: str | Path | None = None,
        start_timeout: float = 60.0,
        name: str | None = None,
    ) -> None:
        self.argv = list(argv)
        self.host = host
        self.port = port
        self.url = f"http://{host}:{port}"
        self.ready_path = ready_path
        self.env = {**os.environ, **(env or {})}
        self.cwd = cwd
        self.start_timeout = start_timeout
        self.name = name or Path(self.argv[0]).name
        self.process: subprocess.Popen[bytes] | None = None
        # Closed in __exit__; it outlives this method on purpose.
        self._log = tempfile.NamedTemporaryFile(  # noqa: SIM115
            prefix=f"{self.name}-", suffix=".log", delete=False
        )
        self.log_path = Path(self._log.name)

    def start(self) -> ServerProcess:
        self.process = subprocess.Popen(
            self.argv,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=self.env,
            cwd=self.cwd,
            start_new_session=True,
        )
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ServerStartError(
                    f"{self.name} exited with code {self.process.returncode} before answering "
                    f"on {self.url}{self.ready_path}:\n{self.log_tail()}"
                )
            try:
                response = httpx.get(self.url + self.ready_path, timeout=1.0)
                if response.status_code < 500:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        raise ServerStartError(
            f"{self.name} did not answer on {self.url}{self.ready_path} within "
            f"{self.start_timeout:.0f} s:\n{self.log_tail()}"
        )

    def log_tail(self, lines: int = 40) -> str:
        self._log.flush()
        text = self.log_path.read_text(encoding="utf-8", errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, timeout: float = 10.0) -> None:
        process = self.process
        if process is None or process.poll() is not None:
            return
        # The child may have children of its own (langgraph dev does): signal the whole group
        # that start_new_session made for it, and nothing else.
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=timeout)
        except ProcessLookupError:
            pass

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
        self._log.close()


def python_module(module: str, *args: str) -> list[str]:
    """argv that runs ``python -m module args`` with this interpreter."""
    return [sys.executable, "-m", module, *args]
