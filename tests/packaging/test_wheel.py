"""``pip install`` of the bare wheel in a fresh venv: a small dependency set, and a checker
that finds its own recordings and judges a running reference server from anywhere."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from distribution import PROJECT_ROOT, clean_environment, make_venv, run

from conformance.processes import ServerProcess, free_port, python_module
from conformance.scenarios import CATALOGUE

# What httpx and orjson bring, and nothing else: no langchain, langgraph, Quart or granian.
ALLOWED = {
    "langgraph-stream-conformance",
    "httpx",
    "httpcore",
    "h11",
    "anyio",
    "idna",
    "certifi",
    "sniffio",
    "typing-extensions",
    "orjson",
    "pip",
    "setuptools",
}
FORBIDDEN_PREFIXES = ("langchain", "langgraph-", "quart", "granian", "uvloop", "pydantic", "mcp")


def _names(pip_list_json: str) -> set[str]:
    return {entry["name"].lower().replace("_", "-") for entry in json.loads(pip_list_json)}


@pytest.fixture(scope="module")
def bare(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv holding the wheel and its base dependencies only; its bin directory."""
    bin_dir = make_venv(tmp_path_factory.mktemp("bare") / "venv")
    installed = run(
        [str(bin_dir / "python"), "-m", "pip", "install", str(wheel)], env=clean_environment()
    )
    print(installed.stdout[-2000:])
    return bin_dir


@pytest.fixture(scope="module")
def reference_server() -> Iterator[str]:
    """A running reference server (from this checkout's environment): the target."""
    port = free_port()
    argv = python_module(
        "reference_server", "--config", str(PROJECT_ROOT / "langgraph.json"),
        "--host", "127.0.0.1", "--port", str(port), "--in-memory",
    )  # fmt: skip
    server = ServerProcess(argv, port=port, ready_path="/ok", name="reference-server").start()
    try:
        yield server.url
    finally:
        server.stop()


def test_the_wheel_ships_the_recordings_and_not_the_benchmarks(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    fixtures = [n for n in names if n.startswith("conformance/_data/fixtures/")]
    assert len(fixtures) == len(list((PROJECT_ROOT / "fixtures").glob("*.json"))) + (
        1 if (PROJECT_ROOT / "fixtures" / "README.md").exists() else 0
    )
    assert "conformance/_data/langgraph.json" in names
    assert not [n for n in names if n.startswith(("bench/", "conformance/bench/", "tests/"))]


def test_the_bare_install_has_a_small_dependency_set(bare: Path) -> None:
    listed = run([str(bare / "python"), "-m", "pip", "list", "--format", "json"])
    names = _names(listed.stdout)
    print("installed:", ", ".join(sorted(names)))
    assert "langgraph-stream-conformance" in names
    others = names - {"langgraph-stream-conformance"}
    assert not [n for n in others if n.startswith(FORBIDDEN_PREFIXES)], names
    assert names <= ALLOWED, names - ALLOWED


def test_the_bare_install_judges_a_running_reference_server(
    bare: Path, reference_server: str, tmp_path: Path
) -> None:
    # From a directory far from this checkout: the recordings must come from the package.
    completed = subprocess.run(
        [str(bare / "conformance"), "check", "--target", reference_server,
         "--report-json", "report.json", "--markdown", "report.md"],
        capture_output=True, text=True, timeout=600, cwd=tmp_path, env=clean_environment(),
        check=False,
    )  # fmt: skip
    print(completed.stdout[-1500:], completed.stderr[-1500:])
    assert completed.returncode == 0, completed.stdout + completed.stderr
    last = completed.stdout.strip().splitlines()[-1]
    assert last.startswith(f"CONFORMANT: level extended; {len(CATALOGUE)} passed, 0 failed")
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["tool"]["version"] != "unknown"
    assert len((tmp_path / "report.md").read_text()) < 65_536
    # the fake LLM ran on the standard-library server: granian is not installed
    assert "started the fake LLM" in completed.stdout


def test_the_bare_install_names_the_extra_a_command_needs(bare: Path, tmp_path: Path) -> None:
    environment = clean_environment()
    check = subprocess.run(
        [str(bare / "conformance"), "check", "--scenario", "stream_values_greeting"],
        capture_output=True, text=True, timeout=120, cwd=tmp_path, env=environment, check=False,
    )  # fmt: skip
    assert check.returncode == 2
    assert "pip install 'langgraph-stream-conformance[server]'" in check.stdout
    assert "--target URL" in check.stdout
    server = subprocess.run(
        [str(bare / "reference-server"), "--port", "1"],
        capture_output=True, text=True, timeout=120, env=environment, check=False,
    )  # fmt: skip
    assert server.returncode == 2
    assert "[server] extra" in server.stderr
    unreachable = subprocess.run(
        [str(bare / "conformance"), "check", "--target", f"http://127.0.0.1:{free_port()}",
         "--llm-url", "http://127.0.0.1:9/v1"],
        capture_output=True, text=True, timeout=120, env=environment, check=False,
    )  # fmt: skip
    assert unreachable.returncode == 2
    assert "unreachable" in unreachable.stdout


def test_the_checker_imports_nothing_of_the_runtime() -> None:
    # In this environment everything is installed: block the runtime's packages and load
    # every base module and subcommand parser, as a bare install would.
    blocked = ("langchain", "langchain_core", "langgraph", "quart", "granian", "uvloop",
               "uvicorn", "pydantic", "mcp", "jwt", "syrupy", "reference_server", "agent")  # fmt: skip
    program = f"""
import importlib, sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {blocked!r}:
            raise ModuleNotFoundError(name)
sys.meta_path.insert(0, Block())
import conformance.cli, conformance.check, conformance.doctor, conformance.pytest_plugin
import conformance.report.markdown, conformance.report.junit, conformance.fake_llm.app
import conformance.fake_llm.asyncio_server, conformance.preflight, conformance.recorder
parser = conformance.cli._build_parser()
for command in ("check", "doctor", "fake-llm", "record"):
    parser.parse_args([command] + (["--target", "http://x"] if command != "fake-llm" else []))
print("ok")
"""
    completed = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=120, check=False
    )
    assert completed.stdout.strip() == "ok", completed.stderr
