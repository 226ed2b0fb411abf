"""Filling ``{variable}`` placeholders in paths, bodies and header values, and renaming graphs.

Kept apart from the executor so the rules can be tested (and read) on their own.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

_PLACEHOLDER = re.compile(r"\{([a-z_][a-z0-9_]*)\}")

# Body fields that hold a graph id (or, for assistant_id, possibly one).
_GRAPH_FIELDS = ("assistant_id", "graph_id")


class UnknownVariable(KeyError):
    """A placeholder names a variable no earlier step captured: a scenario bug, or an earlier
    capture that found nothing."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else super().__str__()


def substitute(value: Any, variables: Mapping[str, Any]) -> Any:
    """Replace placeholders in every string of ``value`` (recursing into lists and dicts).

    A string that is exactly ``{name}`` becomes the variable's value unchanged (any JSON
    type); placeholders inside a longer string are formatted in with ``str``.
    """
    if isinstance(value, str):
        return _substitute_string(value, variables)
    if isinstance(value, list):
        return [substitute(item, variables) for item in value]
    if isinstance(value, tuple):
        return tuple(substitute(item, variables) for item in value)
    if isinstance(value, dict):
        return {key: substitute(item, variables) for key, item in value.items()}
    return value


def _substitute_string(text: str, variables: Mapping[str, Any]) -> Any:
    whole = _PLACEHOLDER.fullmatch(text)
    if whole:
        return _lookup(whole.group(1), variables)
    return _PLACEHOLDER.sub(lambda match: str(_lookup(match.group(1), variables)), text)


def _lookup(name: str, variables: Mapping[str, Any]) -> Any:
    try:
        return variables[name]
    except KeyError:
        known = ", ".join(sorted(variables)) or "none"
        raise UnknownVariable(
            f"placeholder {{{name}}} names no captured variable (known: {known})"
        ) from None


def rename_graphs(
    body: Any, graph_map: Mapping[str, str], configurable: Mapping[str, Any] | None = None
) -> Any:
    """Map graph ids in the top-level ``assistant_id``/``graph_id`` fields of a JSON body.

    Only those fields: a graph id elsewhere (a message text, a store value) is content. A body
    whose graph is renamed also gets ``configurable`` (the check's model settings) in its
    ``config.configurable``, under the keys it does not set itself: the recorded graph may
    have needed no model (``custom_events``) where the target's graph does, and without them
    that graph would call whatever endpoint it defaults to, which the check never set up.
    """
    if not graph_map or not isinstance(body, dict):
        return body
    renamed = dict(body)
    mapped = False
    for field in _GRAPH_FIELDS:
        current = renamed.get(field)
        if isinstance(current, str) and current in graph_map:
            renamed[field] = graph_map[current]
            mapped = True
    if mapped and configurable:
        renamed["config"] = _with_configurable(renamed.get("config"), configurable)
    return renamed


def _with_configurable(config: Any, configurable: Mapping[str, Any]) -> Any:
    if config is None:
        return {"configurable": dict(configurable)}
    if not isinstance(config, dict):
        return config  # a malformed config is the scenario's to send as it is
    own = config.get("configurable")
    if own is None:
        return {**config, "configurable": dict(configurable)}
    if not isinstance(own, dict):
        return config
    return {**config, "configurable": {**configurable, **own}}
