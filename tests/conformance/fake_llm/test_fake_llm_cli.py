"""The command line and the app factories: defaults, and bad options named clearly."""

from __future__ import annotations

import argparse

import pytest

from conformance.fake_llm import DEFAULT_PORT
from conformance.fake_llm.__main__ import main
from conformance.fake_llm.app import (
    TOKEN_DELAY_ENVIRONMENT_VARIABLE,
    FakeLLMApp,
    app_from_environment,
)
from conformance.fake_llm.cli import add_arguments


def _parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return parser.parse_args(argv)


def test_defaults() -> None:
    args = _parse()
    assert (args.host, args.port, args.token_delay_ms, args.server) == (
        "127.0.0.1",
        DEFAULT_PORT,
        0,
        "auto",
    )
    assert DEFAULT_PORT == 7374


def test_options() -> None:
    args = _parse(
        "--host", "0.0.0.0", "--port", "8001", "--token-delay-ms", "25", "--server", "uvicorn"
    )
    assert (args.host, args.port, args.token_delay_ms, args.server) == (
        "0.0.0.0",
        8001,
        25,
        "uvicorn",
    )


@pytest.mark.parametrize(
    ("argv", "complaint"),
    [
        (["--port", "70000"], "at most 65535"),
        (["--port", "http"], "whole number"),
        (["--token-delay-ms", "-1"], ">= 0"),
        (["--server", "hypercorn"], "invalid choice"),
    ],
)
def test_bad_options_exit_2_naming_the_problem(
    argv: list[str], complaint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2
    assert complaint in capsys.readouterr().err


def test_app_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TOKEN_DELAY_ENVIRONMENT_VARIABLE, "15")
    assert app_from_environment().token_delay_ms == 15
    monkeypatch.delenv(TOKEN_DELAY_ENVIRONMENT_VARIABLE)
    assert app_from_environment().token_delay_ms == 0
    monkeypatch.setenv(TOKEN_DELAY_ENVIRONMENT_VARIABLE, "soon")
    with pytest.raises(ValueError, match=TOKEN_DELAY_ENVIRONMENT_VARIABLE):
        app_from_environment()


def test_negative_delay_is_refused() -> None:
    with pytest.raises(ValueError, match="token_delay_ms"):
        FakeLLMApp(token_delay_ms=-5)
