"""Helpers for the packaging tests: build, fresh venvs, clean child environments.

pytest runs in importlib mode, so ``conftest.py`` puts this folder on ``sys.path``.
"""

from __future__ import annotations

import os
import subprocess
import venv
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def run(argv: list[str], **options: object) -> subprocess.CompletedProcess[str]:
    completed = subprocess.run(
        argv, capture_output=True, text=True, check=False, timeout=900, **options
    )  # type: ignore[call-overload]
    if completed.returncode != 0:
        raise AssertionError(
            f"{' '.join(map(str, argv))} exited {completed.returncode}\n"
            f"{completed.stdout[-4000:]}\n{completed.stderr[-4000:]}"
        )
    return completed  # type: ignore[no-any-return]


def make_venv(directory: Path) -> Path:
    """A fresh virtual environment with pip; returns its bin directory."""
    venv.EnvBuilder(with_pip=True, clear=True).create(directory)
    return directory / "bin"


def clean_environment(**extra: str) -> dict[str, str]:
    """This process's environment without the tox/venv variables that would leak our own
    environment into a child meant to be fresh."""
    environment = {
        name: value
        for name, value in os.environ.items()
        if name not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "TOX_ENV_DIR")
    }
    environment.update(extra)
    return environment


def locked_constraints(directory: Path) -> Path:
    """``requirements.lock`` as a pip constraints file (name==version, no hashes): a server
    installed from the wheel gets the versions this repository's CI runs and its fixtures
    were checked with."""
    pins = [
        line.split()[0]
        for line in (PROJECT_ROOT / "requirements.lock").read_text().splitlines()
        if line and not line[0].isspace() and not line.startswith("#") and "==" in line
    ]
    path = directory / "constraints.txt"
    path.write_text("\n".join(pins) + "\n")
    return path
