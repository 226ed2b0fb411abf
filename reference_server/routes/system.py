"""``/ok``, ``/info``, ``/openapi.json`` and ``/docs``."""

from __future__ import annotations

import html
import re
from importlib import metadata
from typing import Any

from pydantic import BaseModel
from quart import Blueprint, Response, current_app

from reference_server.http import json_response

blueprint = Blueprint("system", __name__)

_PACKAGE = "langgraph-stream-conformance"
_METHODS = ("get", "post", "put", "patch", "delete")


def _version(distribution: str) -> str | None:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


@blueprint.get("/ok")
async def ok() -> Response:
    return json_response({"ok": True, "services": {}})


@blueprint.get("/info")
async def info() -> Response:
    return json_response(
        {
            "version": _version(_PACKAGE),
            "langgraph_py_version": _version("langgraph"),
            "flags": {"assistants": True, "crons": False, "langsmith": False},
            "host": {"kind": "reference-server", "project_id": None, "revision_id": None},
        }
    )


@blueprint.get("/openapi.json")
async def openapi() -> Response:
    return json_response(openapi_document())


@blueprint.get("/docs")
async def docs() -> Response:
    rows = []
    for path, operations in openapi_document()["paths"].items():
        for method, operation in operations.items():
            rows.append(
                f"<tr><td>{method.upper()}</td><td><code>{html.escape(path)}</code></td>"
                f"<td>{html.escape(operation['summary'])}</td></tr>"
            )
    page = (
        "<!doctype html><html><head><meta charset='utf-8'><title>Reference server API</title>"
        "</head><body><h1>LangGraph reference server</h1>"
        "<p>The machine-readable description is at <a href='/openapi.json'>/openapi.json</a>."
        "</p><table><tr><th>Method</th><th>Path</th><th>Summary</th></tr>"
        + "".join(rows)
        + "</table></body></html>"
    )
    return Response(page, content_type="text/html; charset=utf-8")


def openapi_document() -> dict[str, Any]:
    """An OpenAPI 3.1 document of every route the app serves, built from its URL map so it
    never lists a route that does not exist; summaries are the view docstrings' first line."""
    from reference_server.routes.request_bodies import REQUEST_BODIES

    paths: dict[str, dict[str, Any]] = {}
    schemas: dict[str, Any] = {}
    for rule in current_app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule)
        view = current_app.view_functions[rule.endpoint]
        summary = (view.__doc__ or rule.endpoint.split(".")[-1].replace("_", " ")).strip()
        parameters = [
            {"name": name, "in": "path", "required": True, "schema": _path_schema(name)}
            for name in re.findall(r"{([^}]+)}", path)
        ]
        for method in sorted(rule.methods or ()):
            if method.lower() not in _METHODS:
                continue
            operation: dict[str, Any] = {
                "summary": summary.splitlines()[0],
                "operationId": f"{rule.endpoint}_{method.lower()}",
                "parameters": parameters,
                "responses": {"200": {"description": "Success"}},
            }
            model = REQUEST_BODIES.get(rule.endpoint)
            if model is not None:
                operation["requestBody"] = _request_body(model, schemas)
            paths.setdefault(path, {})[method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {"title": "LangGraph reference server", "version": _version(_PACKAGE) or "0"},
        "paths": dict(sorted(paths.items())),
        "components": {"schemas": dict(sorted(schemas.items()))},
    }


def _path_schema(name: str) -> dict[str, Any]:
    # Threads and runs are named by UUIDs; an assistant also by its graph id.
    if name in ("thread_id", "run_id"):
        return {"type": "string", "format": "uuid"}
    return {"type": "string"}


def _request_body(model: type[BaseModel], schemas: dict[str, Any]) -> dict[str, Any]:
    """A JSON request body of ``model``, its schema (and those it uses) added to ``schemas``."""
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(schema.pop("$defs", {}))
    schemas[model.__name__] = schema
    reference = {"$ref": f"#/components/schemas/{model.__name__}"}
    return {"required": True, "content": {"application/json": {"schema": reference}}}
