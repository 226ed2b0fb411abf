"""Run a coroutine on uvloop when it is installed (as the ASGI servers measured here pick it),
else on the standard asyncio loop; say which, for the report."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

Result = TypeVar("Result")


def loop_name() -> str:
    try:
        import uvloop  # noqa: F401
    except ImportError:
        return "asyncio"
    return "uvloop"


def run(coroutine: Coroutine[Any, Any, Result]) -> Result:
    if loop_name() == "uvloop":
        import uvloop

        return uvloop.run(coroutine)
    return asyncio.run(coroutine)
