"""The httpx clients each HTTP driver of the benchmark opens and closes with ``async with``.

Streams do not share one connection pool. httpx's pool, on every request it starts and every
response it closes, walks all the connections it holds and polls each idle one's socket
(``is_idle``, ``is_socket_readable`` and the pool's assignment topped the load generator's
profile): at 50 and 100 concurrent streams on one pool the load generator spent a median 16-21
ms of CPU per run (up to 52), and took that from the two cores it shares with the server it
measures. Each stream borrows a client of one connection instead and gives it back for the
next stream: 5-10 ms per run (docs/benchmarks.md, "The load generator was taking the
server's CPU").
"""

from __future__ import annotations

import contextlib
import ssl
from collections.abc import AsyncIterator
from types import TracebackType
from typing import Self

import httpx


class PooledHttpClient:
    """Base of the HTTP drivers: ``client`` for the occasional request (creating threads,
    cancelling runs), ``stream_client()`` for each measured or held stream."""

    def __init__(self, *, run_timeout: float, base_url: str = "") -> None:
        self.run_timeout = run_timeout
        self._base_url = base_url
        self._client: httpx.AsyncClient | None = None
        self._idle_stream_clients: list[httpx.AsyncClient] = []
        self._all_stream_clients: list[httpx.AsyncClient] = []
        # One context for every client: building one loads the CA bundle, milliseconds each,
        # and the benchmark only speaks plain HTTP on loopback.
        self._ssl_context = ssl.create_default_context()

    def _new_client(self, limits: httpx.Limits) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            base_url=self._base_url,
            limits=limits,
            timeout=httpx.Timeout(self.run_timeout, connect=30.0),
            verify=self._ssl_context,
        )

    async def __aenter__(self) -> Self:
        # Never makes a request wait for a connection; idle ones are kept for reuse.
        self._client = self._new_client(
            httpx.Limits(max_connections=None, max_keepalive_connections=64)
        )
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        clients = [*self._all_stream_clients, *([self._client] if self._client else [])]
        self._client = None
        self._idle_stream_clients.clear()
        self._all_stream_clients.clear()
        for client in clients:
            await client.aclose()

    @property
    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            raise RuntimeError(f"{type(self).__name__} used outside `async with`")
        return self._client

    @contextlib.asynccontextmanager
    async def stream_client(self) -> AsyncIterator[httpx.AsyncClient]:
        """A client with one connection, this stream's alone until the block ends."""
        if self._client is None:
            raise RuntimeError(f"{type(self).__name__} used outside `async with`")
        if self._idle_stream_clients:
            client = self._idle_stream_clients.pop()
        else:
            client = self._new_client(httpx.Limits(max_connections=1, max_keepalive_connections=1))
            self._all_stream_clients.append(client)
        try:
            yield client
        finally:
            self._idle_stream_clients.append(client)
