"""The one httpx client each HTTP driver of the benchmark opens and closes with ``async with``."""

from __future__ import annotations

from types import TracebackType
from typing import Self

import httpx


class PooledHttpClient:
    """Base of the HTTP drivers: an ``httpx.AsyncClient`` that never makes a stream wait for a
    connection (every concurrent stream needs its own; idle ones are kept for reuse)."""

    def __init__(self, *, run_timeout: float, base_url: str = "") -> None:
        self.run_timeout = run_timeout
        self._base_url = base_url
        self._client: httpx.AsyncClient | None = None

    async def __aenter__(self) -> Self:
        self._client = httpx.AsyncClient(
            base_url=self._base_url,
            limits=httpx.Limits(max_connections=None, max_keepalive_connections=4096),
            timeout=httpx.Timeout(self.run_timeout, connect=30.0),
        )
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    @property
    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            raise RuntimeError(f"{type(self).__name__} used outside `async with`")
        return self._client
