"""``python -m conformance.fake_llm``: the same as ``conformance fake-llm``."""

from __future__ import annotations

import argparse
import sys

from conformance.fake_llm.cli import add_arguments, run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m conformance.fake_llm",
        description="serve the deterministic OpenAI-compatible fake LLM",
    )
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
