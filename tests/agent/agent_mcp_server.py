"""A real MCP server (the ``mcp`` package's FastMCP, streamable HTTP) for the agent's tests.

Served on loopback at ``{url}/mcp`` with ``{url}/oauth/token`` beside it. With
``require_token`` set, ``/mcp`` answers 401 unless the request carries the MCP access token the
token endpoint issues for ``SUPABASE_TOKEN``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mcp.server.fastmcp import FastMCP
from mcp.shared.exceptions import UrlElicitationRequiredError
from mcp.types import ElicitRequestURLParams
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

SUPABASE_TOKEN = "supabase-user-token"
MCP_ACCESS_TOKEN = "mcp-access-token"
SIGN_IN_URL = "https://auth.example.test/authorize?session=abc"


def _build_fastmcp() -> FastMCP:
    server = FastMCP("agent-tests", stateless_http=True, json_response=True)

    @server.tool()
    def add(a: int, b: int) -> int:
        """Add two integers."""
        return a + b

    @server.tool()
    def echo(text: str) -> str:
        """Repeat the text."""
        return f"echo: {text}"

    @server.tool()
    def hidden() -> str:
        """A tool the agent's configuration does not ask for."""
        return "should not be reachable"

    @server.tool()
    def private_files() -> str:
        """List the user's private files (needs the user to sign in)."""
        raise UrlElicitationRequiredError(
            [
                ElicitRequestURLParams(
                    mode="url",
                    message="Sign in to see your files",
                    url=SIGN_IN_URL,
                    elicitationId="sign-in-1",
                )
            ]
        )

    return server


@dataclass
class McpTestServer:
    require_token: bool = False
    token_requests: list[dict[str, Any]] = field(default_factory=list)
    expires_in: int = 3600

    async def _token(self, request: Request) -> Response:
        form = dict(await request.form())
        self.token_requests.append(form)
        if form.get("subject_token") != SUPABASE_TOKEN:
            return JSONResponse({"error": "invalid_grant"}, status_code=401)
        return JSONResponse(
            {
                "access_token": MCP_ACCESS_TOKEN,
                "token_type": "Bearer",
                "expires_in": self.expires_in,
                "issued_token_type": "urn:ietf:params:oauth:token-type:access_token",
            }
        )

    def app(self) -> Any:
        inner: Starlette = _build_fastmcp().streamable_http_app()
        inner.router.routes.append(Route("/oauth/token", self._token, methods=["POST"]))
        require_token = self.require_token

        async def guarded(scope: Scope, receive: Receive, send: Send) -> None:
            if require_token and scope["type"] == "http" and scope["path"].startswith("/mcp"):
                headers = dict(scope["headers"])
                if headers.get(b"authorization") != f"Bearer {MCP_ACCESS_TOKEN}".encode():
                    await JSONResponse({"error": "unauthorized"}, status_code=401)(
                        scope, receive, send
                    )
                    return
            await inner(scope, receive, send)

        return guarded
