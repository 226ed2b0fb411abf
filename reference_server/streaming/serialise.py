"""Compact JSON for everything a graph can put in a stream, encoded as ``langgraph dev`` does.

orjson already writes compact separators and leaves non-ASCII text unescaped, which is what
``langgraph dev`` sends; the ``default`` hook below covers the LangChain and LangGraph objects
orjson does not know (messages and other pydantic models, ``Send``, ``Command``, sets).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import orjson
from pydantic import BaseModel

_OPTIONS = orjson.OPT_NON_STR_KEYS


def _default(value: Any) -> Any:
    if isinstance(value, BaseModel):
        # LangChain messages and documents are pydantic models: their field order is the order
        # ``langgraph dev`` writes (content, additional_kwargs, response_metadata, type, ...).
        return value.model_dump()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {field.name: getattr(value, field.name) for field in dataclasses.fields(value)}
    if isinstance(value, (set, frozenset)):
        return list(value)
    if isinstance(value, tuple):
        # Named tuples (orjson only handles plain tuples) become arrays like any tuple.
        return list(value)
    if isinstance(value, BaseException):
        return {"error": type(value).__name__, "message": str(value)}
    to_json = getattr(value, "to_json", None)
    if callable(to_json):
        return to_json()
    slots = getattr(type(value), "__slots__", None)
    if slots:
        # e.g. ``Send``: public slots are its fields.
        names = [slots] if isinstance(slots, str) else list(slots)
        return {name: getattr(value, name) for name in names if not name.startswith("_")}
    if hasattr(value, "__dict__"):
        return {key: item for key, item in vars(value).items() if not key.startswith("_")}
    return repr(value)


def dumps(value: Any) -> bytes:
    """``value`` as one line of compact UTF-8 JSON."""
    return orjson.dumps(value, default=_default, option=_OPTIONS)
