"""How fast a run's events reach another worker: Postgres ``LISTEN``/``NOTIFY`` against Redis
pub/sub, measured the way the reference server would use each.

``python -m bench.fanout`` starts a throwaway Postgres cluster and a Redis server
(``redis-server`` from the distribution, no persistence) on free loopback ports, then for each
way publishes the same events one by one at a steady pace from one process to a subscriber in
another, and prints the median and p99 delay from "the event is written" to "the subscriber has
it", and the publisher's and the subscriber's CPU per event:

- **postgres**: the event row is inserted and ``pg_notify`` sent in one transaction (as
  ``PostgresStorage.append_events`` does); the subscriber, woken, selects the rows after the
  last one it has (as ``PostgresWorkers.follow_events`` does).
- **redis**: the row is inserted into Postgres all the same (a rejoin with ``Last-Event-ID``
  needs it stored), then the event itself is ``PUBLISH``ed; the subscriber reads it from the
  message, no query.

Redis is spoken to in RESP over a plain socket: three commands need no client library.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import resource
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from conformance.processes import free_port

_CHANNEL = "fanout"
_RUN_ID = "run-1"


@dataclass(frozen=True, slots=True)
class FanoutFigures:
    way: str
    events: int
    median_ms: float
    p99_ms: float
    publisher_cpu_ms_per_event: float
    subscriber_cpu_ms_per_event: float


@contextmanager
def _redis() -> Iterator[int]:
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("redis-server is not installed: apt-get install -y redis-server")
    port = free_port()
    folder = tempfile.mkdtemp(prefix="fanout-redis-")
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        cwd=folder,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                asyncio.run(_redis_command(port, b"PING"))
                break
            except OSError:
                time.sleep(0.05)
        yield port
    finally:
        process.terminate()
        process.wait(10)
        shutil.rmtree(folder, ignore_errors=True)


def _resp(*parts: bytes) -> bytes:
    return b"*%d\r\n" % len(parts) + b"".join(b"$%d\r\n%s\r\n" % (len(p), p) for p in parts)


async def _redis_command(port: int, *parts: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(_resp(*parts))
    await writer.drain()
    line = await reader.readline()
    writer.close()
    return line


async def _read_resp(reader: asyncio.StreamReader) -> object:
    line = await reader.readline()
    kind, rest = line[:1], line[1:-2]
    if kind == b"*":
        return [await _read_resp(reader) for _ in range(int(rest))]
    if kind == b"$":
        data = await reader.readexactly(int(rest) + 2)
        return data[:-2]
    return rest


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def _setup(url: str) -> None:
    from psycopg import AsyncConnection

    async with await AsyncConnection.connect(url, autocommit=True) as connection:
        await connection.execute(
            "CREATE TABLE IF NOT EXISTS fanout_events (run_id TEXT, event_id TEXT, data BYTEA, "
            "PRIMARY KEY (run_id, event_id))"
        )
        await connection.execute("TRUNCATE fanout_events")


async def _publish(way: str, url: str, redis_port: int, events: int, gap: float) -> float:
    from psycopg import AsyncConnection

    await asyncio.sleep(1.0)  # the subscriber is listening by then
    start_cpu = _cpu_seconds()
    async with await AsyncConnection.connect(url, autocommit=True) as connection:
        writer = None
        if way == "redis":
            _, writer = await asyncio.open_connection("127.0.0.1", redis_port)
        for index in range(events):
            event_id = f"{index:013d}"
            payload = b'{"sent":%d,"chunk":"%s"}' % (time.time_ns(), b"x" * 200)
            async with connection.transaction():
                await connection.execute(
                    "INSERT INTO fanout_events VALUES (%s, %s, %s)", (_RUN_ID, event_id, payload)
                )
                if way == "postgres":
                    await connection.execute("SELECT pg_notify(%s, %s)", (_CHANNEL, _RUN_ID))
            if writer is not None:
                writer.write(_resp(b"PUBLISH", _CHANNEL.encode(), payload))
                await writer.drain()
            await asyncio.sleep(gap)
        if writer is not None:
            writer.close()
    return (_cpu_seconds() - start_cpu) / events


async def _subscribe(way: str, url: str, redis_port: int, events: int) -> tuple[list[float], float]:
    from psycopg import AsyncConnection

    delays: list[float] = []
    start_cpu = _cpu_seconds()
    if way == "postgres":
        listener = await AsyncConnection.connect(url, autocommit=True)
        reader_connection = await AsyncConnection.connect(url, autocommit=True)
        await listener.execute(f"LISTEN {_CHANNEL}")
        last = ""
        async for _ in listener.notifies():
            cursor = await reader_connection.execute(
                "SELECT event_id, data FROM fanout_events WHERE run_id = %s AND event_id > %s "
                "ORDER BY event_id",
                (_RUN_ID, last),
            )
            for event_id, data in await cursor.fetchall():
                delays.append((time.time_ns() - _sent(bytes(data))) / 1e6)
                last = event_id
            if len(delays) >= events:
                break
        await listener.close()
        await reader_connection.close()
    else:
        reader, writer = await asyncio.open_connection("127.0.0.1", redis_port)
        writer.write(_resp(b"SUBSCRIBE", _CHANNEL.encode()))
        await writer.drain()
        while len(delays) < events:
            message = await _read_resp(reader)
            if isinstance(message, list) and message[0] == b"message":
                data = message[2]
                assert isinstance(data, bytes)
                delays.append((time.time_ns() - _sent(data)) / 1e6)
        writer.close()
    return delays, (_cpu_seconds() - start_cpu) / events


def _sent(data: bytes) -> int:
    return int(data.split(b'"sent":', 1)[1].split(b",", 1)[0])


def _subscriber_process(
    way: str, url: str, redis_port: int, events: int, queue: multiprocessing.Queue[object]
) -> None:
    queue.put(asyncio.run(_subscribe(way, url, redis_port, events)))


def measure(way: str, url: str, redis_port: int, events: int, gap: float) -> FanoutFigures:
    asyncio.run(_setup(url))
    queue: multiprocessing.Queue[object] = multiprocessing.Queue()
    subscriber = multiprocessing.Process(
        target=_subscriber_process, args=(way, url, redis_port, events, queue)
    )
    subscriber.start()
    publisher_cpu = asyncio.run(_publish(way, url, redis_port, events, gap))
    received = queue.get(timeout=120)
    assert isinstance(received, tuple)
    delays: list[float] = received[0]
    subscriber_cpu: float = received[1]
    subscriber.join(30)
    ordered = sorted(delays)
    return FanoutFigures(
        way=way,
        events=len(ordered),
        median_ms=statistics.median(ordered),
        p99_ms=ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))],
        publisher_cpu_ms_per_event=publisher_cpu * 1000,
        subscriber_cpu_ms_per_event=subscriber_cpu * 1000,
    )


def main() -> int:
    from conformance.postgres import throwaway_postgres

    parser = argparse.ArgumentParser(prog="python -m bench.fanout")
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--gap-ms", type=float, default=2.0, help="pause between two events")
    parser.add_argument("--rounds", type=int, default=3, help="each way this many times, in turn")
    arguments = parser.parse_args()
    figures: list[FanoutFigures] = []
    with throwaway_postgres() as url, _redis() as redis_port:
        for _ in range(arguments.rounds):
            for way in ("postgres", "redis"):
                figures.append(
                    measure(way, url, redis_port, arguments.events, arguments.gap_ms / 1000)
                )
    print(
        f"{arguments.events} events per round, one every {arguments.gap_ms:g} ms; pid {os.getpid()}"
    )
    print("way       round  median ms  p99 ms  publisher CPU ms/event  subscriber CPU ms/event")
    for index, figure in enumerate(figures):
        print(
            f"{figure.way:<9} {index // 2 + 1:>5}  {figure.median_ms:9.2f}  {figure.p99_ms:6.2f}  "
            f"{figure.publisher_cpu_ms_per_event:22.3f}  {figure.subscriber_cpu_ms_per_event:23.3f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
