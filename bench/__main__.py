"""``python -m bench``: the benchmarks (a development tool of this repository, not shipped)."""

from __future__ import annotations

import argparse
import sys

from bench.command import add_arguments, run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="benchmark the reference server against `langgraph dev` and the "
        "in-process floor",
    )
    add_arguments(parser)
    return int(run(parser.parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
