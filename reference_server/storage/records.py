"""Filtering, ordering and paging of records, shared by every storage backend.

Both backends filter in Python after narrowing by owner: the filters (JSON containment on
metadata and values) read the same everywhere and the record counts of one server stay small.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from reference_server.storage.base import Record, owner_of


def visible_to(record: Record, owner: str | None, *, unowned_visible: bool = False) -> bool:
    """Whether ``owner`` may see ``record``: everyone may when auth is off (owner None);
    otherwise only its owner, and for ``unowned_visible`` records (system assistants) anyone."""
    if owner is None:
        return True
    record_owner = owner_of(record)
    return record_owner == owner or (unowned_visible and record_owner is None)


def contains(container: Any, expected: Record | None) -> bool:
    """Every key of ``expected`` is in ``container`` with an equal value (top level, as
    upstream's ``metadata``/``values`` filters match)."""
    if not expected:
        return True
    if not isinstance(container, dict):
        return False
    return all(key in container and container[key] == value for key, value in expected.items())


def assistant_matches(assistant: Record, *, name: str | None, metadata: Record | None) -> bool:
    """The filters of an assistant search that every backend applies in Python: ``name`` is a
    case-insensitive substring of the assistant's name; ``metadata`` as ``contains``."""
    if name is not None and name.lower() not in str(assistant.get("name") or "").lower():
        return False
    return contains(assistant.get("metadata"), metadata)


def thread_matches(thread: Record, *, metadata: Record | None, values: Record | None) -> bool:
    """The filters of a thread search that every backend applies in Python (``contains``)."""
    return contains(thread.get("metadata"), metadata) and contains(thread.get("values"), values)


def sort_records(
    records: Iterable[Record], sort_by: str, sort_order: str, allowed: Sequence[str]
) -> list[Record]:
    if sort_by not in allowed:
        raise ValueError(f"sort_by must be one of {list(allowed)}, got {sort_by!r}")
    if sort_order not in ("asc", "desc"):
        raise ValueError(f"sort_order must be 'asc' or 'desc', got {sort_order!r}")
    # None sorts first ascending; str() keeps mixed types comparable.
    return sorted(
        records,
        key=lambda record: (record.get(sort_by) is not None, str(record.get(sort_by) or "")),
        reverse=sort_order == "desc",
    )


def page(records: Sequence[Record], limit: int, offset: int) -> list[Record]:
    return list(records[offset : offset + limit])


ASSISTANT_SORT_FIELDS = ("assistant_id", "graph_id", "name", "created_at", "updated_at")
THREAD_SORT_FIELDS = ("thread_id", "status", "created_at", "updated_at", "state_updated_at")
VERSION_FIELDS = (
    "assistant_id",
    "version",
    "graph_id",
    "config",
    "context",
    "metadata",
    "created_at",
    "name",
    "description",
)


def version_of(assistant: Record) -> Record:
    """The version-history entry of an assistant record: its fields at this version, created
    when the version was (``updated_at`` of the record that introduced it)."""
    entry = {name: assistant.get(name) for name in VERSION_FIELDS}
    entry["created_at"] = assistant.get("updated_at") or assistant.get("created_at")
    return entry
