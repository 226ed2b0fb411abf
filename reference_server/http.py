"""Request parsing and JSON responses shared by the routes.

Bodies and query strings are validated with pydantic models; a failure becomes a 422 whose
``detail`` names the offending field. Before any model sees a body, its shape is bounded: JSON
nested deeper than ``MAX_JSON_DEPTH`` or holding an integer beyond 64 bits is refused (422,
naming the field), as neither the JSON encoder nor SQLite could hold it. Every client error is raised as ``ApiError`` and turned
into ``{"detail": "..."}`` by the app's error handler, as ``langgraph dev`` answers.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

import orjson
from pydantic import BaseModel, ConfigDict, ValidationError
from quart import Response, request

from reference_server.streaming.serialise import dumps

ModelT = TypeVar("ModelT", bound=BaseModel)
JSON_CONTENT_TYPE = "application/json"
MAX_JSON_DEPTH = 128
"""Levels of nesting a request body may have. Stored records wrap what a client sends a few
levels deeper, and the JSON encoder stops at 254 levels."""
MAX_INT64 = 2**63 - 1
"""The largest integer a body or query may carry: what SQLite (and Postgres' bigint) hold."""
MIN_INT64 = -(2**63)


class ApiError(Exception):
    """A client-visible error: answered as ``status`` with ``{"detail": detail}``."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


class RequestModel(BaseModel):
    """Base of request bodies: unknown fields are ignored, as upstream ignores them."""

    model_config = ConfigDict(extra="ignore")


def json_response(
    value: Any, status: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    return Response(
        dumps(value), status=status, headers=dict(headers or {}), content_type=JSON_CONTENT_TYPE
    )


def no_content() -> Response:
    return Response(b"", status=204)


def error_response(status: int, detail: str) -> Response:
    return json_response({"detail": detail}, status=status)


async def read_json(*, allow_empty: bool = True) -> Any:
    """The request body as JSON; an empty body is ``{}`` when ``allow_empty``."""
    raw = await request.get_data(cache=True)
    if not raw.strip():
        if allow_empty:
            return {}
        raise ApiError(422, "Request body is required")
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        if "depth limit" in str(error) or "recursion" in str(error).lower():
            # orjson gives up at 1,024 levels; find which field went that deep.
            field = _deep_field_in_text(raw if isinstance(raw, bytes) else raw.encode())
            raise ApiError(422, _too_deep(field)) from None
        raise ApiError(422, "Invalid JSON in request body") from None
    problem = _unholdable_value(body)
    if problem is not None:
        raise ApiError(422, problem)
    return body


async def parse_body(model: type[ModelT], *, allow_empty: bool = True) -> ModelT:
    """The body validated as ``model``, or a 422 naming the field that failed."""
    body = await read_json(allow_empty=allow_empty)
    if not isinstance(body, dict):
        raise ApiError(422, f"Request body must be a JSON object, got {_json_type(body)}")
    return validate(model, body)


def parse_query(model: type[ModelT], *, list_fields: tuple[str, ...] = ()) -> ModelT:
    """The query string validated as ``model``; ``list_fields`` keep every repeated value."""
    values: dict[str, Any] = {}
    for name in request.args:
        values[name] = request.args.getlist(name) if name in list_fields else request.args.get(name)
    return validate(model, values)


def validate(model: type[ModelT], value: Mapping[str, Any]) -> ModelT:
    try:
        return model.model_validate(value)
    except ValidationError as error:
        raise ApiError(422, describe_validation_error(error)) from None


def describe_validation_error(error: ValidationError) -> str:
    """One line per problem, each naming its field: ``"graph_id" is a required property``."""
    lines = []
    for problem in error.errors():
        location = ".".join(str(part) for part in problem["loc"]) or "body"
        if problem["type"] == "missing":
            lines.append(f'"{location}" is a required property')
        else:
            lines.append(f'"{location}": {problem["msg"]}')
    return "\n".join(lines)


def parse_uuid(value: str, what: str) -> str:
    """``value`` as a canonical UUID string, or 422 ``Invalid <what> ID: must be a UUID``."""
    try:
        return str(uuid.UUID(value))
    except (ValueError, AttributeError, TypeError):
        raise ApiError(422, f"Invalid {what} ID: must be a UUID") from None


def search_page_response(
    found: list[dict[str, Any]], total: int, *, offset: int, select: Sequence[str] | None
) -> Response:
    """A page of search results, cut to the ``select``ed fields, with the pagination headers."""
    if select:
        found = [{key: item.get(key) for key in select} for item in found]
    return json_response(found, headers=pagination_headers(offset, len(found), total))


def pagination_headers(offset: int, page_length: int, total: int) -> dict[str, str]:
    """``x-pagination-total`` and, when more remain, ``x-pagination-next``, as upstream counts
    them: the total is what the pages so far hold, plus one when there is more (not the count
    of every match; ``/count`` gives that)."""
    next_offset = offset + page_length
    more = page_length > 0 and next_offset < total
    headers = {"x-pagination-total": str(next_offset + 1 if more else next_offset)}
    if more:
        headers["x-pagination-next"] = str(next_offset)
    return headers


def _too_deep(field: str) -> str:
    parts = field.split(".")
    shown = ".".join(parts[:3]) + (".…" if len(parts) > 3 else "")
    return f'"{shown}": JSON nested deeper than {MAX_JSON_DEPTH} levels'


def _unholdable_value(body: Any) -> str | None:
    """Why ``body`` cannot be stored (too deep, an integer beyond 64 bits), naming the field,
    or None. Iterative: a deep body must not exhaust the Python stack either."""
    stack: list[tuple[Any, int, str]] = [(body, 1, "body")]
    while stack:
        value, depth, path = stack.pop()
        if isinstance(value, dict | list):
            if depth > MAX_JSON_DEPTH:
                return _too_deep(path)
            items = value.items() if isinstance(value, dict) else enumerate(value)
            for key, item in items:
                child = str(key) if path == "body" else f"{path}.{key}"
                stack.append((item, depth + 1, child))
        elif (
            isinstance(value, int)
            and not isinstance(value, bool)
            and not MIN_INT64 <= value <= MAX_INT64
        ):
            return f'"{path}": integer out of range (must fit in 64 bits)'
    return None


def _deep_field_in_text(raw: bytes) -> str:
    """The top-level field of a JSON object text under which nesting first goes too deep."""
    depth = 0
    in_string = escaped = expect_key = False
    key_start = -1
    field = "body"
    for position, byte in enumerate(raw):
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # a backslash
                escaped = True
            elif byte == 0x22:  # the closing quote
                in_string = False
                if key_start >= 0:
                    field = raw[key_start:position].decode(errors="replace")
                    key_start = -1
        elif byte == 0x22:
            in_string = True
            if depth == 1 and expect_key:
                key_start, expect_key = position + 1, False
        elif byte in (0x7B, 0x5B):  # { or [
            depth += 1
            expect_key = depth == 1 and byte == 0x7B
            if depth > MAX_JSON_DEPTH:
                return field
        elif byte in (0x7D, 0x5D):  # } or ]
            depth -= 1
        elif byte == 0x2C and depth == 1:  # a comma between top-level fields
            expect_key = True
    return field


def _json_type(value: Any) -> str:
    if isinstance(value, list):
        return "an array"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, str):
        return "a string"
    return "a number"
