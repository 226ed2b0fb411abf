"""``conformance doctor``: the pre-flight of ``conformance check`` alone.

Takes the same options as ``check`` (swap the word to ask "could this run?") and runs only the
checks of ``conformance.preflight``: the target answers, the model endpoint answers (with
``--llm live``), every graph the selected scenarios
run has an assistant or can get one (an assistant it creates to find out is deleted at once).
Prints one line per check; exit 0 when the check could run, 2 with the reason when not.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import TextIO

import httpx

from conformance import check, preflight
from conformance.baseline import BaselineError
from conformance.report.results import ExitCode
from conformance.target_setup import delete_assistants


def add_arguments(parser: argparse.ArgumentParser) -> None:
    check.add_arguments(parser)


async def diagnose(target: check.Target, scenarios: list[object], out: TextIO) -> int:
    async with httpx.AsyncClient(
        base_url=target.url.rstrip("/"), headers=dict(target.headers), timeout=target.timeout
    ) as http:
        context = check.preflight_context(target, http, scenarios)
        try:
            for check_function in preflight.CHECKS:
                out.write(f"ok: {await check_function(context)}\n")
                for note in context.notes:
                    out.write(f"note: {note}\n")
                context.notes.clear()
        except preflight.PreflightFailure as error:
            out.write(f"NOT READY: {error}\n")
            return int(ExitCode.COULD_NOT_RUN)
        finally:
            for problem in await delete_assistants(http, context.plan.created):
                out.write(f"warning: {problem}\n")
    if context.plan.created:
        out.write(
            f"(the {len(context.plan.created)} assistant(s) created to find out were deleted; "
            "`conformance check` creates them again for its run)\n"
        )
    out.write(
        f"READY: `conformance check` can run {len(scenarios)} scenario(s) against {target.url}\n"
    )
    return int(ExitCode.CONFORMANT)


def run(args: argparse.Namespace, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    if not args.target:
        out.write("conformance doctor: pass --target URL (the server you mean to check)\n")
        return int(ExitCode.COULD_NOT_RUN)
    try:
        plan = check._validated(args)
    except (check.UsageError, BaselineError) as error:
        out.write(f"conformance doctor: {error}\n")
        return int(ExitCode.COULD_NOT_RUN)
    llm_url = args.llm_url or (check.DEFAULT_LIVE_LLM_URL if args.llm == "live" else "")
    target = check.Target(
        url=args.target,
        llm_url=llm_url,
        llm_mode=args.llm,
        llm_model=args.llm_model,
        llm_api_key=args.llm_api_key,
        model_preflight=args.llm == "live",
        headers=plan.headers,
        graph_map=plan.graph_map,
        timeout=args.timeout,
        assistants=plan.assistants,
        create_assistants=args.create_assistants,
    )
    try:
        return asyncio.run(diagnose(target, plan.scenarios, out))
    except KeyboardInterrupt:
        out.write("conformance doctor: interrupted\n")
        return int(ExitCode.COULD_NOT_RUN)
