"""The load-test client on tiny inputs (its figures are read by people, never asserted)."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from conformance.fake_llm.loadtest import hold_streams, main, measure_rate


def _address(fake_llm_url: str) -> tuple[str, int]:
    parts = urlsplit(fake_llm_url)
    assert parts.hostname is not None and parts.port is not None
    return parts.hostname, parts.port


async def test_measure_rate_counts_completed_streams(fake_llm_url: str) -> None:
    host, port = _address(fake_llm_url)
    result = await measure_rate(host, port, prompt="long:20", concurrency=3, seconds=0.3)
    assert result.streams == len(result.latencies_ms) > 3
    assert result.streams_per_second > 0
    assert result.percentile_ms(0.5) <= result.percentile_ms(0.99)


async def test_hold_streams_waits_for_every_stream(fake_llm_url: str) -> None:
    host, port = _address(fake_llm_url)
    result = await hold_streams(host, port, prompt="hi delay:20", count=30)
    assert result.completed == 30
    assert result.failures == ()
    assert result.seconds >= 11 * 0.02


async def test_error_responses_are_failures_not_hangs(fake_llm_url: str) -> None:
    host, port = _address(fake_llm_url)
    result = await hold_streams(host, port, prompt="fault:500", count=2)
    assert result.completed == 0
    assert all("500" in failure for failure in result.failures)
    cut = await hold_streams(host, port, prompt="fault:cut", count=1)
    assert cut.completed == 0


def test_main_prints_the_figures(fake_llm_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    root = fake_llm_url.removesuffix("/v1")
    assert main(["--url", root, "--concurrency", "2", "--seconds", "0.2"]) == 0
    assert "streams/s" in capsys.readouterr().out
    assert main(["--url", root, "--hold", "5", "--prompt", "hi delay:5"]) == 0
    assert "5 completed, 0 failed" in capsys.readouterr().out


def test_main_rejects_a_url_without_a_port() -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--url", "http://localhost"])
    assert exited.value.code == 2
