"""The benchmark's side of the in-process floor: starts ``bench.floor_worker`` as a
child process, sends it commands, reads back its samples."""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

from bench.samples import BatchResult, HoldOutcome
from bench.workloads import Workload

Measured = TypeVar("Measured")

_READY_TIMEOUT_SECONDS = 120.0


class FloorWorkerError(RuntimeError):
    """The floor worker exited, answered with an error, or said something unexpected."""


class FloorDriver:
    """``async with FloorDriver(config, graph, llm_url, modes) as floor: floor.pid ...``"""

    def __init__(
        self,
        config_path: Path,
        *,
        graph_id: str,
        llm_url: str,
        stream_mode: Sequence[str],
        checkpointer: bool = True,
    ) -> None:
        self._argv = [
            sys.executable,
            "-m",
            "bench.floor_worker",
            "--config",
            str(config_path),
            "--graph",
            graph_id,
            "--llm-url",
            llm_url,
            "--stream-mode",
            ",".join(stream_mode),
        ]
        if not checkpointer:
            self._argv.append("--no-checkpointer")
        self._process: asyncio.subprocess.Process | None = None
        self._log = tempfile.NamedTemporaryFile(  # noqa: SIM115 - closed in __aexit__
            prefix="bench-floor-", suffix=".log", delete=False
        )
        self.log_path = Path(self._log.name)

    @property
    def pid(self) -> int:
        if self._process is None:
            raise RuntimeError("the floor worker is not running")
        return self._process.pid

    async def __aenter__(self) -> FloorDriver:
        self._process = await asyncio.create_subprocess_exec(
            *self._argv,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=self._log,
            limit=2**26,
        )
        try:
            ready = await asyncio.wait_for(self._receive(), timeout=_READY_TIMEOUT_SECONDS)
            if ready != {"ready": True}:
                raise FloorWorkerError(f"the floor worker's first line was {ready}, not ready")
        except BaseException:
            # __aexit__ will not run for a failed __aenter__: stop the child here.
            await self.__aexit__(None, None, None)
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        process = self._process
        self._process = None
        if process is not None and process.returncode is None:
            try:
                self._send_now(process, {"op": "quit"})
                await asyncio.wait_for(process.wait(), timeout=10.0)
            except (TimeoutError, BrokenPipeError, ConnectionResetError):
                process.kill()
                await process.wait()
        self._log.close()
        # The log only explains a failure, which has been raised with its tail by now.
        self.log_path.unlink(missing_ok=True)

    def _send_now(self, process: asyncio.subprocess.Process, command: dict[str, Any]) -> None:
        if process.stdin is None:
            raise FloorWorkerError("the floor worker has no stdin")
        process.stdin.write(json.dumps(command).encode() + b"\n")

    async def _send(self, command: dict[str, Any]) -> None:
        if self._process is None or self._process.stdin is None:
            raise RuntimeError("the floor worker is not running")
        self._send_now(self._process, command)
        await self._process.stdin.drain()

    def _log_tail(self) -> str:
        self._log.flush()
        lines = self.log_path.read_text(encoding="utf-8", errors="replace").splitlines()
        return "\n".join(lines[-30:])

    async def _receive(self) -> dict[str, Any]:
        if self._process is None or self._process.stdout is None:
            raise RuntimeError("the floor worker is not running")
        line = await self._process.stdout.readline()
        if not line:
            raise FloorWorkerError(f"the floor worker exited; its log ends:\n{self._log_tail()}")
        message = json.loads(line)
        if not isinstance(message, dict):
            raise FloorWorkerError(f"the floor worker sent {line[:200]!r}, not a JSON object")
        if "error" in message:
            raise FloorWorkerError(f"the floor worker failed: {message['error']}")
        return message

    async def run_batch(self, workload: Workload, *, concurrency: int, runs: int) -> BatchResult:
        await self._send(
            {
                "op": "batch",
                "prompt": workload.prompt,
                "min_tokens": workload.min_tokens,
                "concurrency": concurrency,
                "runs": runs,
            }
        )
        answer = await self._receive()
        return BatchResult.from_json(answer["batch"])

    async def hold(
        self,
        workload: Workload,
        *,
        count: int,
        open_timeout: float,
        hold_seconds: float,
        measure: Callable[[], Awaitable[Measured]],
    ) -> tuple[HoldOutcome, Measured]:
        await self._send(
            {
                "op": "hold",
                "prompt": workload.prompt,
                "count": count,
                "open_timeout": open_timeout,
                "hold_seconds": hold_seconds,
            }
        )
        held = await self._receive()
        if held != {"held": True}:
            raise FloorWorkerError(f"expected the floor worker to say it holds, got {held}")
        measured = await measure()
        await self._send({"op": "release"})
        answer = await self._receive()
        return HoldOutcome.from_json(answer["hold"]), measured
