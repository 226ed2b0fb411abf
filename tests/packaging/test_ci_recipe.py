"""docs/ci.md's GitHub Actions workflow, run as written: each job's ``run:`` steps in order,
in bash, in a fresh venv, with the built wheel as ``CONFORMANCE_SUITE`` and free ports for the
two the workflow names. The reference server installed from the wheel is the server under
test, so both jobs must end conformant, with every file the upload steps name.

(One venv serves both jobs: on GitHub each job gets a fresh runner; here the second job's
installs find everything in place, which changes nothing they do. pip is constrained to
``requirements.lock``'s versions, those this repository's fixtures were checked with: the
reference server's verdict is only promised for them.)
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import time
import xml.etree.ElementTree as ElementTree
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from distribution import PROJECT_ROOT, clean_environment, locked_constraints, make_venv

from conformance.processes import free_port
from conformance.scenarios import CATALOGUE

RECIPE = PROJECT_ROOT / "docs" / "ci.md"


def _workflow() -> dict[str, Any]:
    blocks = re.findall(r"```yaml\n(.*?)```", RECIPE.read_text(encoding="utf-8"), re.DOTALL)
    assert len(blocks) == 1, "docs/ci.md holds one workflow"
    workflow: dict[str, Any] = yaml.safe_load(blocks[0])
    return workflow


class _Runner:
    """Runs steps as GitHub does (``bash -e``), each in a session of its own so that what a
    step leaves running in the background (the fake LLM, the server) can be stopped by its
    group id at the end."""

    def __init__(self, directory: Path, environment: dict[str, str]) -> None:
        self.directory = directory
        self.environment = environment
        self.groups: list[int] = []
        self.log: list[str] = []

    def step(self, name: str, script: str) -> int:
        process = subprocess.Popen(
            ["bash", "-e", "-c", script],
            cwd=self.directory,
            env=self.environment,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self.groups.append(process.pid)
        out, _ = process.communicate(timeout=900)
        self.log.append(f"--- {name} (exit {process.returncode})\n{out[-3000:]}")
        return process.returncode

    def stop(self) -> None:
        for group in self.groups:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(group, signal.SIGTERM)
        deadline = time.monotonic() + 15
        for group in self.groups:
            while _alive(group) and time.monotonic() < deadline:
                time.sleep(0.1)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(group, signal.SIGKILL)


def _alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.fixture(scope="module")
def recipe_venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """One fresh venv for both jobs, and the environment the workflow's steps see."""
    directory = tmp_path_factory.mktemp("recipe")
    bin_dir = make_venv(directory / "venv")
    return {
        "CONFORMANCE_SUITE": str(wheel),
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "VIRTUAL_ENV": str(bin_dir.parent),
        "PIP_CONSTRAINT": str(locked_constraints(directory)),
    }


@pytest.fixture
def runner(recipe_venv: dict[str, str], tmp_path: Path) -> Iterator[_Runner]:
    workflow = _workflow()
    repository = tmp_path / "repository"
    (repository / ".github").mkdir(parents=True)
    variables = {name: str(value) for name, value in workflow["env"].items()}
    variables.update(
        recipe_venv,
        TARGET_PORT=str(free_port()),
        LLM_PORT=str(free_port()),
        GITHUB_STEP_SUMMARY=str(tmp_path / "step-summary.md"),
    )
    environment = clean_environment(**variables)
    (repository / environment["BASELINE"]).write_text(
        "# Expected conformance failures: scenario::rule, one per line.\n"
    )
    runner = _Runner(repository, environment)
    try:
        yield runner
    finally:
        runner.stop()


def _run_job(runner: _Runner, job: dict[str, Any]) -> list[str]:
    """The job's run steps in order; a failure skips the rest but the ``if: always()`` ones.
    Returns the paths its upload steps name."""
    failed = False
    uploads: list[str] = []
    for step in job["steps"]:
        if "uses" in step:
            if step["uses"].startswith("actions/upload-artifact"):
                uploads += [line.strip() for line in step["with"]["path"].splitlines() if line]
            continue
        if failed and step.get("if") != "always()":
            continue
        if runner.step(step.get("name", "step"), step["run"]) != 0:
            failed = True
    assert not failed, "\n".join(runner.log)
    return uploads


def test_the_check_job_runs_as_written(runner: _Runner) -> None:
    uploads = _run_job(runner, _workflow()["jobs"]["check"])
    directory = runner.directory
    for path in uploads:
        assert (directory / path).exists(), f"the upload step names {path}, never written"
    report = json.loads((directory / "conformance.json").read_text())
    assert (report["outcome"], report["level"]) == ("conformant", "extended")
    assert report["summary"]["passed"] == report["summary"]["scenarios"] == len(CATALOGUE)
    assert report["baseline"]["path"].endswith("conformance-baseline.txt")
    assert len(list((directory / "transcripts").glob("*.json"))) == len(CATALOGUE)
    markdown = (directory / "conformance.md").read_text()
    assert markdown.startswith("## LangGraph streaming conformance: CONFORMANT")
    assert len(markdown) < 65_536
    junit = ElementTree.parse(directory / "conformance.xml").getroot()
    assert junit.get("failures") in ("0", None)
    summary = Path(runner.environment["GITHUB_STEP_SUMMARY"]).read_text()
    assert summary == markdown
    print("\n".join(runner.log[-2:]))


def test_the_pytest_job_runs_as_written(runner: _Runner) -> None:
    uploads = _run_job(runner, _workflow()["jobs"]["pytest"])
    directory = runner.directory
    for path in uploads:
        assert (directory / path).exists(), f"the upload step names {path}, never written"
    report = json.loads((directory / "conformance-pytest.json").read_text())
    assert report["outcome"] == "conformant"
    junit = ElementTree.parse(directory / "conformance-pytest.xml").getroot()
    suite = junit if junit.tag == "testsuite" else junit[0]
    assert int(suite.get("tests", "0")) > len(CATALOGUE)
    assert (suite.get("failures"), suite.get("errors")) == ("0", "0")
    print(runner.log[-1][-600:])
