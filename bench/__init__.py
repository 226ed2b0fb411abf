"""``python -m bench``: the reference server against ``langgraph dev`` and against the graph's
own speed (in-process ``astream``, and the fake LLM read directly), side by side.

See docs/benchmarks.md for the method and the published figures.
"""

from bench.command import add_arguments, run

__all__ = ["add_arguments", "run"]
