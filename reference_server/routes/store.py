"""``/store``: put, get and delete items, search them, list namespaces.

With auth on, each user's namespaces live under their own ``sub``: the API prefixes every
namespace with it on the way in and strips it on the way out, so a user never sees nor touches
another's items. Graphs reach the same store unscoped during their runs.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from langgraph.store.base import Item, SearchItem
from pydantic import Field, field_validator
from quart import Blueprint, Response, request

from reference_server import context
from reference_server.http import (
    MAX_INT64,
    ApiError,
    RequestModel,
    json_response,
    no_content,
    parse_body,
)

blueprint = Blueprint("store", __name__)


MAX_TTL_MINUTES = 100 * 365 * 24 * 60
"""A century: longer ones would overflow the store's expiry timestamp."""


def _check_labels(namespace: list[str]) -> list[str]:
    for label in namespace:
        if not label or "." in label:
            raise ValueError(
                f"Namespace label '{label}' must be a non-empty string without periods"
            )
    _check_no_nul(namespace)
    return namespace


def _check_no_nul(labels: list[str] | None) -> list[str] | None:
    # SQLite's text ends at a NUL byte: a label holding one could not be stored as sent.
    for label in labels or ():
        if "\x00" in label:
            raise ValueError(f"Namespace label {label!r} must not contain a NUL character")
    return labels


_FILTER_KEY = re.compile(r"^[a-zA-Z0-9_.-]+$")
_FILTER_OPERATORS = frozenset({"$eq", "$ne", "$gt", "$gte", "$lt", "$lte"})


def _check_filter(value: dict[str, Any] | None) -> dict[str, Any] | None:
    """Keys the store can address (its SQL embeds them in a JSON path) and known operators."""
    for key, condition in (value or {}).items():
        if not _FILTER_KEY.match(key):
            raise ValueError(f"filter key {key!r} may hold only letters, digits, '_', '.' and '-'")
        if isinstance(condition, dict):
            unknown = sorted(set(condition) - _FILTER_OPERATORS)
            if unknown:
                raise ValueError(
                    f"filter {key!r}: unknown operator(s) {unknown}; "
                    f"known: {sorted(_FILTER_OPERATORS)}"
                )
    return value


def _check_pattern_labels(labels: list[str] | None) -> list[str] | None:
    """Labels of a prefix or suffix to match: non-empty (the store refuses empty ones)."""
    for label in labels or ():
        if not label:
            raise ValueError("Namespace labels must be non-empty strings")
    return _check_no_nul(labels)


class ItemPut(RequestModel):
    namespace: list[str] = Field(min_length=1)
    key: str = Field(min_length=1)
    value: dict[str, Any]
    index: Literal[False] | list[str] | None = None
    ttl: float | None = Field(default=None, ge=0, le=MAX_TTL_MINUTES)

    _labels = field_validator("namespace")(_check_labels)


class ItemDelete(RequestModel):
    namespace: list[str] = Field(min_length=1)
    key: str = Field(min_length=1)

    _labels = field_validator("namespace")(_check_labels)


class ItemSearch(RequestModel):
    namespace_prefix: list[str] = Field(default_factory=list)
    filter: dict[str, Any] | None = None
    query: str | None = None
    limit: int = Field(default=10, ge=1, le=1000)
    offset: int = Field(default=0, ge=0, le=MAX_INT64)

    _labels = field_validator("namespace_prefix")(_check_pattern_labels)
    _filter = field_validator("filter")(_check_filter)


class NamespaceSearch(RequestModel):
    prefix: list[str] | None = None
    suffix: list[str] | None = None
    max_depth: int | None = Field(default=None, ge=1, le=MAX_INT64)
    limit: int = Field(default=100, ge=1, le=1000)
    offset: int = Field(default=0, ge=0, le=MAX_INT64)

    _labels = field_validator("prefix", "suffix")(_check_pattern_labels)


@blueprint.put("/store/items")
async def put_item() -> Response:
    body = await parse_body(ItemPut, allow_empty=False)
    await context.storage().store.aput(
        _scoped(body.namespace), body.key, body.value, index=body.index, ttl=body.ttl
    )
    return no_content()


@blueprint.get("/store/items")
async def get_item() -> Response:
    key = request.args.get("key")
    if not key:
        raise ApiError(422, '"key" is a required query parameter')
    namespace = _namespace_from_query()
    item = await context.storage().store.aget(_scoped(namespace), key)
    return json_response(_item_record(item) if item is not None else None)


@blueprint.delete("/store/items")
async def delete_item() -> Response:
    body = await parse_body(ItemDelete, allow_empty=False)
    await context.storage().store.adelete(_scoped(body.namespace), body.key)
    return no_content()


@blueprint.post("/store/items/search")
async def search_items() -> Response:
    body = await parse_body(ItemSearch)
    items = await context.storage().store.asearch(
        _scoped(body.namespace_prefix),
        query=body.query,
        filter=body.filter,
        limit=body.limit,
        offset=body.offset,
    )
    return json_response({"items": [_item_record(item) for item in items]})


@blueprint.post("/store/namespaces")
async def list_namespaces() -> Response:
    body = await parse_body(NamespaceSearch)
    owner = context.current_owner()
    prefix = _scoped(body.prefix or [])
    max_depth = body.max_depth + 1 if body.max_depth is not None and owner else body.max_depth
    namespaces = await context.storage().store.alist_namespaces(
        prefix=tuple(prefix) or None,
        suffix=tuple(body.suffix) if body.suffix else None,
        max_depth=max_depth,
        limit=body.limit,
        offset=body.offset,
    )
    return json_response({"namespaces": [list(_unscoped(namespace)) for namespace in namespaces]})


def _namespace_from_query() -> list[str]:
    values = request.args.getlist("namespace")
    # Upstream's SDK sends one dotted value; several repeated values are accepted too.
    labels = values[0].split(".") if len(values) == 1 else values
    labels = [label for label in labels if label != ""]
    try:
        return _check_labels(labels)
    except ValueError as error:
        raise ApiError(422, f'"namespace": {error}') from None


def _scoped(namespace: list[str]) -> tuple[str, ...]:
    owner = context.current_owner()
    return (owner, *namespace) if owner is not None else tuple(namespace)


def _unscoped(namespace: tuple[str, ...]) -> tuple[str, ...]:
    return namespace[1:] if context.current_owner() is not None else namespace


def _item_record(item: Item | SearchItem) -> dict[str, Any]:
    record: dict[str, Any] = {
        "namespace": list(_unscoped(item.namespace)),
        "key": item.key,
        "value": item.value,
        "created_at": item.created_at.isoformat(),
        "updated_at": item.updated_at.isoformat(),
    }
    if isinstance(item, SearchItem):
        record["score"] = item.score
    return record
