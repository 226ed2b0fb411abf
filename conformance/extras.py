"""The optional parts of the suite and the extra that installs each.

The base install is the checker alone (``conformance check --target URL`` and the pytest
plugin). A command that needs more checks here first and says which extra to install, rather
than failing on an import deep inside a child process.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Sequence

DISTRIBUTION = "langgraph-stream-conformance"

EXTRA_MODULES: dict[str, tuple[str, ...]] = {
    "server": ("quart", "granian", "langgraph", "langchain_openai", "jwt"),
    "agent": ("langgraph", "langchain", "langchain_openai", "langchain_mcp_adapters"),
    "oracle": ("langgraph_api", "langgraph_cli"),
    "fake-llm": ("granian", "uvloop"),
    "test": ("syrupy",),
    "postgres": ("psycopg", "psycopg_pool", "langgraph.checkpoint.postgres"),
}
"""Modules whose absence means the extra is not installed."""


class MissingExtra(RuntimeError):
    """A command needs an extra that is not installed; the message says how to install it."""


def missing_modules(extra: str) -> list[str]:
    return [name for name in EXTRA_MODULES[extra] if importlib.util.find_spec(name) is None]


def install_hint(extra: str) -> str:
    return f"pip install '{DISTRIBUTION}[{extra}]'"


def require(extra: str, purpose: str) -> None:
    """Raise ``MissingExtra`` naming ``purpose`` and the install command when ``extra`` is
    not installed."""
    absent = missing_modules(extra)
    if absent:
        raise MissingExtra(
            f"{purpose} needs the [{extra}] extra (not installed: {', '.join(absent)}): "
            f"{install_hint(extra)}"
        )


def reference_server_main(argv: Sequence[str] | None = None) -> int:
    """The ``reference-server`` script: the server when its extra is installed, else a
    sentence saying what to install (exit 2)."""
    try:
        require("server", "reference-server")
    except MissingExtra as error:
        print(error, file=sys.stderr)
        return 2
    from reference_server.__main__ import main

    return int(main(argv))
