from __future__ import annotations

import pytest

from bench.http_pool import PooledHttpClient


async def test_each_stream_has_a_connection_of_its_own_and_clients_are_reused() -> None:
    async with PooledHttpClient(run_timeout=5.0) as pool:
        async with pool.stream_client() as first, pool.stream_client() as second:
            assert first is not second
            assert first is not pool.client
            assert first._transport._pool._max_connections == 1  # type: ignore[attr-defined]
        async with pool.stream_client() as again:
            assert again in (first, second)
    assert first.is_closed and second.is_closed


async def test_stream_clients_are_refused_outside_the_block() -> None:
    pool = PooledHttpClient(run_timeout=5.0)
    with pytest.raises(RuntimeError, match="outside `async with`"):
        async with pool.stream_client():
            pass
