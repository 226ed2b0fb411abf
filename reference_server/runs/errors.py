"""What a failed run tells its clients: the ``error`` event payload, as ``langgraph dev`` words it.

Only exceptions whose message is meant for the caller pass their message through; anything else
says "An internal error occurred" so that internals (paths, keys, upstream responses) stay put.
"""

from __future__ import annotations

from typing import Any

_PASS_THROUGH_NAMES = frozenset(
    {
        "ValueError",
        "TypeError",
        "KeyError",
        "AttributeError",
        "RuntimeError",
        "RecursionError",
        "TimeoutError",
        "InvalidUpdateError",
        "GraphBubbleUp",
        "GraphRecursionError",
        "EmptyInputError",
        "TaskNotFound",
        "HTTPException",
        "UserInterrupt",
    }
)
INTERNAL_ERROR_MESSAGE = "An internal error occurred"


def _error_name(error: BaseException) -> str:
    module = type(error).__module__ or ""
    # Upstream reports every failure of the openai client under one name.
    if module.split(".")[0] == "openai":
        return "OpenAIAPIError"
    return type(error).__name__


def _passes_message(error: BaseException) -> bool:
    return any(cls.__name__ in _PASS_THROUGH_NAMES for cls in type(error).__mro__)


def error_payload(error: BaseException) -> dict[str, Any]:
    """``{"error": <class>, "message": <message or the generic one>}``."""
    message = str(error) if _passes_message(error) else INTERNAL_ERROR_MESSAGE
    if isinstance(error, KeyError) and _passes_message(error) and error.args:
        message = str(error.args[0])
    return {"error": _error_name(error), "message": message}
