"""``conformance record``: record the scenario catalogue from a live ``langgraph dev``.

By default it starts the fake LLM and ``langgraph dev`` (``conformance.oracle``) on free
ports, runs every scenario (or the ``--scenario`` ones) and writes one
``<fixtures>/<scenario>.json`` per scenario. ``--target`` attaches to a ``langgraph dev``
already running instead; ``--llm-url`` uses a model already running instead of the fake one.

A recording is refused, and nothing written for that scenario, when a step did not answer
the status the scenario expects or could not be carried out: a fixture is ground truth.
Exit codes: 0 all recorded, 1 some scenario refused, 2 could not run (target unreachable,
bad arguments, servers that would not start).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Sequence
from contextlib import ExitStack
from importlib import metadata
from pathlib import Path

import httpx

from conformance import scenarios
from conformance.client import ScenarioError, TargetUnreachable, run_scenario, unexpected_statuses
from conformance.extras import MissingExtra, require
from conformance.processes import ServerProcess, ServerStartError
from conformance.transcript import Transcript, dump

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_FIXTURES = PROJECT_ROOT / "fixtures"
DEFAULT_CONFIG = PROJECT_ROOT / "langgraph.json"

RECORDED_PACKAGES = (
    "langgraph-cli",
    "langgraph-api",
    "langgraph-runtime-inmem",
    "langgraph",
    "langchain-core",
    "langchain-openai",
)

# What GET /info of a running langgraph dev reports, per package of RECORDED_PACKAGES.
_INFO_FIELDS = {"langgraph-api": "version", "langgraph": "langgraph_py_version"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--target",
        metavar="URL",
        help="attach to this running `langgraph dev` instead of starting one",
    )
    parser.add_argument(
        "--llm-url",
        metavar="URL",
        help="OpenAI-compatible base URL the graphs call (default: start the fake LLM)",
    )
    parser.add_argument(
        "--scenario",
        action="append",
        metavar="NAME",
        help="record only this scenario (repeatable; default: the whole catalogue)",
    )
    parser.add_argument(
        "--fixtures",
        type=Path,
        default=DEFAULT_FIXTURES,
        metavar="DIR",
        help=f"where to write <scenario>.json (default: {DEFAULT_FIXTURES})",
    )
    parser.add_argument(
        "--config",
        type=Path,
        default=DEFAULT_CONFIG,
        metavar="PATH",
        help=f"langgraph.json for the started `langgraph dev` (default: {DEFAULT_CONFIG})",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="bound on each step (default: 60)",
    )
    parser.add_argument(
        "--prune",
        action="store_true",
        help="delete fixture files whose scenario is no longer in the catalogue",
    )


def run(args: argparse.Namespace) -> int:
    try:
        selected = scenarios.select(args.scenario)
    except ValueError as error:
        print(f"conformance record: {error}", file=sys.stderr)
        return 2
    if args.target is None:
        try:
            require("oracle", "recording from a `langgraph dev` the suite starts")
        except MissingExtra as error:
            print(f"conformance record: {error}", file=sys.stderr)
            return 2
    args.fixtures.mkdir(parents=True, exist_ok=True)
    try:
        with ExitStack() as servers:
            target, llm_url = _start_servers(args, servers)
            versions = _versions(target, attached=args.target is not None)
            failures = asyncio.run(
                _record_all(selected, target, llm_url, args.fixtures, versions, args.timeout)
            )
    except TargetUnreachable as error:
        print(f"conformance record: target unreachable: {error}", file=sys.stderr)
        return 2
    except (ServerStartError, FileNotFoundError) as error:
        print(f"conformance record: could not start the servers: {error}", file=sys.stderr)
        return 2
    _report_stale(args.fixtures, prune=args.prune)
    if failures:
        print(f"\n{len(failures)} of {len(selected)} scenario(s) NOT recorded:", file=sys.stderr)
        for failure in failures:
            print(f"  {failure}", file=sys.stderr)
        return 1
    print(f"\nrecorded {len(selected)} scenario(s) into {args.fixtures}")
    return 0


def _start_servers(args: argparse.Namespace, servers: ExitStack) -> tuple[str, str]:
    # Imported here: only recording from a started server needs them.
    from conformance.fake_llm.process import start_fake_llm
    from conformance.oracle import start_langgraph_dev

    llm_url = args.llm_url
    if llm_url is None:
        fake_llm = _stopped_on_exit(servers, start_fake_llm())
        llm_url = fake_llm.url + "/v1"
        print(f"fake LLM on {llm_url}")
    target = args.target
    if target is None:
        print("starting langgraph dev ...", flush=True)
        oracle = _stopped_on_exit(servers, start_langgraph_dev(args.config))
        target = oracle.url
        print(f"langgraph dev on {target} (log: {oracle.log_path})")
    return target.rstrip("/"), llm_url


def _stopped_on_exit(servers: ExitStack, process: ServerProcess) -> ServerProcess:
    servers.callback(process.__exit__, None, None, None)  # stops it and closes its log
    return process


async def _record_all(
    selected: Sequence[scenarios.Scenario],
    target: str,
    llm_url: str,
    fixtures: Path,
    versions: dict[str, str],
    timeout: float,
) -> list[str]:
    failures = []
    # One at a time: langgraph dev runs one run at a time anyway, and a scenario's timing
    # (a busy thread, a run still running) must not depend on its neighbours.
    for scenario in selected:
        started = time.monotonic()
        problem = await _record_one(scenario, target, llm_url, fixtures, versions, timeout)
        elapsed = time.monotonic() - started
        if problem:
            failures.append(f"{scenario.name}: {problem}")
            print(f"  FAILED   {scenario.name} ({elapsed:.1f} s): {problem}", flush=True)
        else:
            print(f"  recorded {scenario.name} ({elapsed:.1f} s)", flush=True)
    return failures


async def _record_one(
    scenario: scenarios.Scenario,
    target: str,
    llm_url: str,
    fixtures: Path,
    versions: dict[str, str],
    timeout: float,
) -> str:
    """Record one scenario; return why it was refused, or an empty string."""
    try:
        transcript = await run_scenario(scenario, target, llm_url=llm_url, timeout=timeout)
    except ScenarioError as error:
        return str(error)
    problems = unexpected_statuses(scenario, transcript) + _unfinished(transcript)
    if problems:
        return "; ".join(problems)
    transcript.recorded_with = dict(versions)
    dump(transcript, fixtures / f"{scenario.name}.json")
    return ""


def _unfinished(transcript: Transcript) -> list[str]:
    return [
        f"{exchange.step}: body ended by {exchange.response.closed_by}"
        for exchange in transcript.exchanges
        if exchange.response.closed_by not in ("server", "client")
    ]


def _versions(target: str, *, attached: bool) -> dict[str, str]:
    """Installed versions of the packages that make up `langgraph dev`.

    When attached to a server started elsewhere, what it reports of itself (GET /info) wins
    over what is installed here.
    """
    versions = {}
    for package in RECORDED_PACKAGES:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "not installed"
    if attached:
        versions.update(_reported_versions(target))
    return versions


def _reported_versions(target: str) -> dict[str, str]:
    try:
        info = httpx.get(f"{target}/info", timeout=10.0).json()
    except (httpx.HTTPError, ValueError):
        print("warning: GET /info failed; recording the locally installed versions")
        return {}
    return {
        package: str(info[field])
        for package, field in _INFO_FIELDS.items()
        if isinstance(info, dict) and info.get(field)
    }


def _report_stale(fixtures: Path, *, prune: bool) -> None:
    for path in sorted(fixtures.glob("*.json")):
        if path.stem in scenarios.CATALOGUE:
            continue
        if prune:
            path.unlink()
            print(f"removed stale fixture {path.name}")
        else:
            print(f"warning: stale fixture {path.name}: no such scenario (use --prune)")
