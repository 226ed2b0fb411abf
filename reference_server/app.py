"""The Quart application: wiring, lifecycle, auth, CORS and the JSON error handlers.

``create_app(settings)`` loads the graphs right away (a broken langgraph.json fails before the
server listens); storage is opened, system assistants ensured and the run manager started when
the server starts serving, and stopped in reverse order when it stops.
"""

from __future__ import annotations

import logging

from langgraph.store.base import InvalidNamespaceError
from quart import Quart, Response, request
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from reference_server import context
from reference_server.auth import AuthenticationError, TokenVerifier
from reference_server.graphs import GraphNotFoundError, GraphRegistry
from reference_server.http import ApiError, error_response
from reference_server.resources import ensure_system_assistants
from reference_server.routes.assistants import blueprint as assistants_blueprint
from reference_server.routes.runs import blueprint as runs_blueprint
from reference_server.routes.store import blueprint as store_blueprint
from reference_server.routes.system import blueprint as system_blueprint
from reference_server.routes.threads import blueprint as threads_blueprint
from reference_server.runs.manager import RunManager
from reference_server.runs.workers import workers_for
from reference_server.settings import Settings
from reference_server.storage import open_storage

logger = logging.getLogger(__name__)

_UNAUTHENTICATED_PATHS = frozenset({"/ok"})
_EXPOSED_HEADERS = "x-pagination-total, x-pagination-next, content-location"
_ALLOWED_METHODS = "DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT"
_PREFLIGHT_MAX_AGE = "600"


def create_app(settings: Settings) -> Quart:
    app = Quart("reference_server")
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    # Client errors are answered by our handlers, never re-raised as a debugging aid.
    app.config["PROPAGATE_EXCEPTIONS"] = False
    app.config[context.SETTINGS_KEY] = settings

    storage = open_storage(settings.database)
    graphs = GraphRegistry(settings.config_path)
    graphs.load()
    verifier = TokenVerifier(settings.auth) if settings.auth.enabled else None

    for blueprint in (
        system_blueprint,
        assistants_blueprint,
        threads_blueprint,
        runs_blueprint,
        store_blueprint,
    ):
        app.register_blueprint(blueprint)

    @app.before_serving
    async def _start() -> None:
        await storage.open()
        graphs.attach(storage.checkpointer, storage.store)
        await ensure_system_assistants(storage, graphs)
        manager = RunManager(storage, graphs, settings, workers_for(storage))
        app.config[context.STORAGE_KEY] = storage
        app.config[context.GRAPHS_KEY] = graphs
        app.config[context.RUN_MANAGER_KEY] = manager
        await manager.start()

    @app.after_serving
    async def _stop() -> None:
        manager = app.config.get(context.RUN_MANAGER_KEY)
        try:
            if manager is not None:
                await manager.stop()
        finally:
            await storage.close()

    @app.before_request
    async def _preflight_and_authenticate() -> Response | None:
        if request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers:
            return _preflight_response(settings)
        if verifier is None or request.path in _UNAUTHENTICATED_PATHS:
            context.set_current_user(None)
            return None
        try:
            user = await verifier.verify_header(request.headers.get("Authorization"))
        except AuthenticationError as error:
            response = error_response(401, str(error))
            response.headers["WWW-Authenticate"] = "Bearer"
            return response
        context.set_current_user(user)
        return None

    @app.after_request
    async def _add_cors_headers(response: Response) -> Response:
        origin = request.headers.get("Origin")
        allowed = _allowed_origin(settings, origin)
        if allowed is not None:
            response.headers["Access-Control-Allow-Origin"] = allowed
            response.headers["Access-Control-Expose-Headers"] = _EXPOSED_HEADERS
        response.vary.add("Origin")
        return response

    _register_error_handlers(app)
    return app


def _allowed_origin(settings: Settings, origin: str | None) -> str | None:
    if origin is None:
        return None
    if "*" in settings.cors_allow_origins:
        return "*"
    return origin if origin in settings.cors_allow_origins else None


def _preflight_response(settings: Settings) -> Response:
    allowed = _allowed_origin(settings, request.headers.get("Origin"))
    if allowed is None:
        return Response("Disallowed CORS origin", status=400, content_type="text/plain")
    response = Response("OK", status=200, content_type="text/plain; charset=utf-8")
    response.headers["Access-Control-Allow-Origin"] = allowed
    response.headers["Access-Control-Allow-Methods"] = _ALLOWED_METHODS
    response.headers["Access-Control-Max-Age"] = _PREFLIGHT_MAX_AGE
    requested_headers = request.headers.get("Access-Control-Request-Headers")
    if requested_headers:
        response.headers["Access-Control-Allow-Headers"] = requested_headers
    return response


def _register_error_handlers(app: Quart) -> None:
    @app.errorhandler(ApiError)
    async def _api_error(error: ApiError) -> Response:
        return error_response(error.status, error.detail)

    @app.errorhandler(InvalidNamespaceError)
    async def _invalid_namespace(error: InvalidNamespaceError) -> Response:
        # The store's own check, for a namespace the route's validation let through.
        return error_response(422, f'"namespace": {error}')

    @app.errorhandler(GraphNotFoundError)
    async def _graph_not_found(error: GraphNotFoundError) -> Response:
        return error_response(404, str(error))

    @app.errorhandler(RequestEntityTooLarge)
    async def _too_large(error: RequestEntityTooLarge) -> Response:
        limit = app.config["MAX_CONTENT_LENGTH"]
        return error_response(413, f"Request body too large: the limit is {limit} bytes")

    @app.errorhandler(HTTPException)
    async def _http_error(error: HTTPException) -> Response:
        status = error.code or 500
        # Upstream answers unknown routes with Starlette's plain phrases.
        detail = {404: "Not Found", 405: "Method Not Allowed"}.get(status, error.description)
        return error_response(status, str(detail or error.name))

    @app.errorhandler(Exception)
    async def _unexpected(error: Exception) -> Response:
        logger.exception("unhandled error on %s %s", request.method, request.path)
        return error_response(500, "Internal Server Error")
