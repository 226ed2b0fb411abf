"""App-wide behaviour: error bodies, 404/405/413, CORS, and the system routes."""

from __future__ import annotations

from pathlib import Path

from quart.typing import TestClientProtocol as Client

from reference_server.app import create_app
from reference_server.settings import Settings


async def test_ok_and_info(client: Client) -> None:
    ok = await client.get("/ok")
    assert ok.status_code == 200 and await ok.get_data() == b'{"ok":true,"services":{}}'
    info = await (await client.get("/info")).get_json()
    assert info["langgraph_py_version"] and info["flags"]["assistants"] is True


async def test_openapi_lists_every_route_and_docs_render(client: Client) -> None:
    document = await (await client.get("/openapi.json")).get_json()
    paths = document["paths"]
    for path, method in [
        ("/assistants", "post"),
        ("/assistants/{assistant_id}", "patch"),
        ("/threads/{thread_id}/state", "get"),
        ("/threads/{thread_id}/runs/stream", "post"),
        ("/runs/wait", "post"),
        ("/store/items", "put"),
        ("/ok", "get"),
    ]:
        assert method in paths[path], (path, method)
    docs = await client.get("/docs")
    assert docs.status_code == 200 and docs.content_type.startswith("text/html")
    assert "/threads/{thread_id}/history" in await docs.get_data(as_text=True)


async def test_unknown_route_and_method(client: Client) -> None:
    missing = await client.get("/no/such/route")
    assert missing.status_code == 404
    assert await missing.get_json() == {"detail": "Not Found"}
    wrong_method = await client.delete("/ok")
    assert wrong_method.status_code == 405
    assert await wrong_method.get_json() == {"detail": "Method Not Allowed"}


async def test_invalid_json_is_422(client: Client) -> None:
    response = await client.post(
        "/threads", data=b"{bad", headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    assert await response.get_json() == {"detail": "Invalid JSON in request body"}


async def test_oversized_body_is_413(config_path: Path) -> None:
    app = create_app(Settings(config_path=config_path, database_path=None, max_body_bytes=1000))
    async with app.test_app() as test_app:
        client = test_app.test_client()
        big = {"metadata": {"blob": "x" * 2000}}
        response = await client.post("/threads", json=big)
        assert response.status_code == 413
        assert await response.get_json() == {
            "detail": "Request body too large: the limit is 1000 bytes"
        }
        small = await client.post("/threads", json={"metadata": {"blob": "x"}})
        assert small.status_code == 200


async def test_cors_preflight_and_exposed_headers(client: Client) -> None:
    preflight = await client.options(
        "/assistants/search",
        headers={
            "Origin": "http://ui.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type,authorization",
        },
    )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == "*"
    assert "POST" in preflight.headers["access-control-allow-methods"]
    assert preflight.headers["access-control-allow-headers"] == "content-type,authorization"
    response = await client.post(
        "/assistants/search", json={}, headers={"Origin": "http://ui.example"}
    )
    assert response.headers["access-control-allow-origin"] == "*"
    assert response.headers["access-control-expose-headers"] == (
        "x-pagination-total, x-pagination-next, content-location"
    )
    no_origin = await client.post("/assistants/search", json={})
    assert "access-control-allow-origin" not in no_origin.headers


async def test_cors_with_an_origin_list(config_path: Path) -> None:
    settings = Settings(
        config_path=config_path, database_path=None, cors_allow_origins=("http://good",)
    )
    app = create_app(settings)
    async with app.test_app() as test_app:
        client = test_app.test_client()
        good = await client.get("/ok", headers={"Origin": "http://good"})
        assert good.headers["access-control-allow-origin"] == "http://good"
        bad = await client.get("/ok", headers={"Origin": "http://evil"})
        assert "access-control-allow-origin" not in bad.headers
        preflight = await client.options(
            "/ok", headers={"Origin": "http://evil", "Access-Control-Request-Method": "GET"}
        )
        assert preflight.status_code == 400
