"""Request parsing and JSON responses shared by the routes.

Bodies and query strings are validated with pydantic models; a failure becomes a 422 whose
``detail`` names the offending field. Every client error is raised as ``ApiError`` and turned
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
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise ApiError(422, "Invalid JSON in request body") from None


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
