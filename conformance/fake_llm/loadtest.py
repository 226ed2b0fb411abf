"""``python -m conformance.fake_llm.loadtest``: how many streams per second the fake LLM serves.

A deliberately bare client (raw HTTP/1.1 keep-alive over asyncio streams, no HTTP library) so
that on a two-core machine the client costs as little as possible and the figure is the
server's. Two modes: ``--seconds S`` keeps ``--concurrency C`` connections streaming back to
back and reports streams/s and latency percentiles (on uvloop, like the servers); ``--hold N`` opens N streams at once
(give the prompt a ``delay:MS``) and reports how many completed.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import orjson
import uvloop

_CHUNKED_END = b"0\r\n\r\n"


@dataclass(frozen=True, slots=True)
class RateResult:
    streams: int
    seconds: float
    latencies_ms: tuple[float, ...]

    @property
    def streams_per_second(self) -> float:
        return self.streams / self.seconds

    def percentile_ms(self, fraction: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


@dataclass(frozen=True, slots=True)
class HoldResult:
    completed: int
    failures: tuple[str, ...]
    seconds: float


def request_bytes(host: str, port: int, prompt: str) -> bytes:
    """One streamed chat-completion request, ready to write on a keep-alive connection."""
    body = orjson.dumps(
        {"model": "fake", "stream": True, "messages": [{"role": "user", "content": prompt}]}
    )
    head = (
        f"POST /v1/chat/completions HTTP/1.1\r\nhost: {host}:{port}\r\n"
        f"content-type: application/json\r\ncontent-length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def measure_rate(
    host: str, port: int, *, prompt: str, concurrency: int, seconds: float
) -> RateResult:
    """Streams completed per second by ``concurrency`` connections for ``seconds``."""
    request = request_bytes(host, port, prompt)
    latencies: list[float] = []
    deadline = time.monotonic() + seconds
    started = time.monotonic()

    async def connection() -> None:
        reader, writer = await asyncio.open_connection(host, port)
        try:
            while time.monotonic() < deadline:
                sent = time.monotonic()
                writer.write(request)
                await _read_one_stream(reader)
                latencies.append((time.monotonic() - sent) * 1000)
        finally:
            writer.close()

    await asyncio.gather(*(connection() for _ in range(concurrency)))
    return RateResult(len(latencies), time.monotonic() - started, tuple(latencies))


async def hold_streams(host: str, port: int, *, prompt: str, count: int) -> HoldResult:
    """Open ``count`` streams at once and wait for all of them to finish."""
    request = request_bytes(host, port, prompt)
    started = time.monotonic()

    async def one() -> None:
        reader, writer = await asyncio.open_connection(host, port)
        try:
            writer.write(request)
            await _read_one_stream(reader)
        finally:
            writer.close()

    outcomes = await asyncio.gather(*(one() for _ in range(count)), return_exceptions=True)
    failures = tuple(repr(outcome) for outcome in outcomes if isinstance(outcome, BaseException))
    return HoldResult(count - len(failures), failures, time.monotonic() - started)


async def _read_one_stream(reader: asyncio.StreamReader) -> None:
    """Read one chunked SSE response to its end; the fake LLM always answers chunked."""
    received = b""
    while not received.endswith(_CHUNKED_END):
        data = await reader.read(65536)
        if not data:
            raise ConnectionError("the server closed the connection mid-response")
        received += data
        # An error status comes with a length, not chunked: stop rather than wait forever.
        if b"\r\n\r\n" in received and not received.startswith(b"HTTP/1.1 200"):
            raise ConnectionError(f"unexpected response: {received[:80]!r}")
    if b"data: [DONE]" not in received:
        raise ConnectionError("the stream ended without data: [DONE]")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m conformance.fake_llm.loadtest")
    parser.add_argument("--url", default="http://127.0.0.1:7374", help="the fake LLM's root url")
    parser.add_argument("--prompt", default="hi")
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--hold", type=int, default=0, help="open this many streams at once")
    args = parser.parse_args(argv)
    target = urlsplit(args.url)
    if target.scheme != "http" or target.hostname is None or target.port is None:
        parser.error(f"--url must look like http://HOST:PORT, got {args.url!r}")
    host, port = target.hostname, target.port
    if args.hold:
        held = uvloop.run(hold_streams(host, port, prompt=args.prompt, count=args.hold))
        print(
            f"held {args.hold} streams of {args.prompt!r}: {held.completed} completed, "
            f"{len(held.failures)} failed, in {held.seconds:.1f} s"
        )
        for failure in held.failures[:3]:
            print(f"  {failure}")
        return 0 if not held.failures else 1
    rate = uvloop.run(
        measure_rate(
            host, port, prompt=args.prompt, concurrency=args.concurrency, seconds=args.seconds
        )
    )
    if not rate.latencies_ms:
        print(f"no stream completed in {args.seconds} s", file=sys.stderr)
        return 1
    print(
        f"{args.concurrency} connections, {args.prompt!r}: "
        f"{rate.streams_per_second:.0f} streams/s, "
        f"median {statistics.median(rate.latencies_ms):.1f} ms, "
        f"p99 {rate.percentile_ms(0.99):.1f} ms"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
