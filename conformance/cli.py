"""``conformance``: the command line. Each subcommand lives in its own module, which exposes
``add_arguments(parser)`` and ``run(args) -> int``; this file only wires them together."""

from __future__ import annotations

import argparse
import importlib
import sys

# subcommand -> (module, one-line help)
_SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "fake-llm": ("conformance.fake_llm.cli", "serve the deterministic OpenAI-compatible fake LLM"),
    "record": ("conformance.recorder", "record the scenario catalogue from a live `langgraph dev`"),
    "check": (
        "conformance.check",
        "check a target server against the recorded sessions and the rules",
    ),
    "doctor": (
        "conformance.doctor",
        "the pre-flight of `check` alone: can the target (and the model) serve the scenarios?",
    ),
}


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="conformance",
        description="Check a LangGraph Platform server's streaming API against `langgraph dev`.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (module_name, help_text) in _SUBCOMMANDS.items():
        module = importlib.import_module(module_name)
        subparser = sub.add_parser(name, help=help_text, description=help_text)
        module.add_arguments(subparser)
        subparser.set_defaults(_run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _build_parser().parse_args(argv)
    return int(args._run(args))


if __name__ == "__main__":
    sys.exit(main())
