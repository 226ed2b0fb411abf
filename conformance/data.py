"""Where the suite's own data lives: the sessions recorded from ``langgraph dev`` and the
``langgraph.json`` that serves the scenario graphs.

In an installed wheel they are package data (``conformance/_data/``, mapped there by the
build); in a checkout of the repository they are its top-level ``fixtures/`` and
``langgraph.json``.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE_DATA = Path(__file__).resolve().parent / "_data"
_CHECKOUT = Path(__file__).resolve().parent.parent


def fixtures_dir() -> Path:
    """The recorded sessions, ``<scenario>.json`` each."""
    packaged = _PACKAGE_DATA / "fixtures"
    return packaged if packaged.is_dir() else _CHECKOUT / "fixtures"


def langgraph_config() -> Path:
    """The ``langgraph.json`` naming the tools agent and the scenario graphs."""
    packaged = _PACKAGE_DATA / "langgraph.json"
    return packaged if packaged.is_file() else _CHECKOUT / "langgraph.json"


def main(argv: list[str] | None = None) -> int:
    """``python -m conformance.data langgraph.json|fixtures``: print where it is installed (a
    server under test serves that ``langgraph.json``)."""
    import sys

    wanted = (argv if argv is not None else sys.argv[1:]) or ["langgraph.json"]
    paths = {"langgraph.json": langgraph_config, "fixtures": fixtures_dir}
    if len(wanted) != 1 or wanted[0] not in paths:
        print("usage: python -m conformance.data langgraph.json|fixtures", file=sys.stderr)
        return 2
    print(paths[wanted[0]]())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
