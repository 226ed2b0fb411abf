"""The facts a reader needs to reproduce a table: the machine, the versions, the date."""

from __future__ import annotations

import datetime
import os
import platform
from importlib import metadata
from pathlib import Path
from typing import Any

from bench.event_loop import loop_name

VERSIONED_PACKAGES = (
    "langgraph",
    "langgraph-api",
    "langgraph-cli",
    "langgraph-runtime-inmem",
    "langchain-core",
    "langchain-openai",
    "openai",
    "quart",
    "granian",
    "httpx",
    "orjson",
    "uvloop",
)


def cpu_model(cpuinfo: Path = Path("/proc/cpuinfo")) -> str:
    try:
        for line in cpuinfo.read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def memory_total_bytes(meminfo: Path = Path("/proc/meminfo")) -> int | None:
    try:
        for line in meminfo.read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def package_versions(names: tuple[str, ...] = VERSIONED_PACKAGES) -> dict[str, str]:
    versions: dict[str, str] = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def describe_environment() -> dict[str, Any]:
    memory = memory_total_bytes()
    return {
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu_model": cpu_model(),
        "cpu_cores": os.cpu_count(),
        "usable_cores": len(os.sched_getaffinity(0)),
        "memory": f"{memory / 2**30:.1f} GiB" if memory else "unknown",
        "kernel": platform.release(),
        "python": platform.python_version(),
        "load_generator_loop": loop_name(),
        "load_average_at_start": " ".join(f"{value:.2f}" for value in os.getloadavg()),
        "versions": package_versions(),
    }
