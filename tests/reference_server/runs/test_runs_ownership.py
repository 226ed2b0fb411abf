"""With auth on, runs belong to the token's user: another user's runs and threads answer 404
on every run route, and the run records its owner. In process, on Quart's test client."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path

import jwt
import pytest
from quart import Quart
from run_helpers import CONFIG_PATH, user_input

from reference_server.app import create_app
from reference_server.settings import AuthSettings, Settings

SECRET = "a-test-secret-that-is-long-enough-for-hs256"
RUN = {"assistant_id": "custom_events", "input": user_input("hi")}


def _headers(user: str) -> dict[str, str]:
    token = jwt.encode({"sub": user, "exp": int(time.time()) + 600}, SECRET, algorithm="HS256")
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[Quart]:
    settings = Settings(
        config_path=CONFIG_PATH, database_path=None, auth=AuthSettings(hs256_secret=SECRET)
    )
    application = create_app(settings)
    async with application.test_app():
        yield application


async def test_runs_are_invisible_to_other_users(app: Quart) -> None:
    client = app.test_client()
    alice, bob = _headers("alice"), _headers("bob")
    thread_id = (await (await client.post("/threads", json={}, headers=alice)).get_json())[
        "thread_id"
    ]
    waited = await client.post(f"/threads/{thread_id}/runs/wait", json=RUN, headers=alice)
    assert waited.status_code == 200
    runs = await (await client.get(f"/threads/{thread_id}/runs", headers=alice)).get_json()
    run_id = runs[0]["run_id"]
    assert runs[0]["metadata"]["owner"] == "alice"

    base = f"/threads/{thread_id}/runs"
    assert (await client.get(f"{base}/{run_id}", headers=bob)).status_code == 404
    assert (await client.get(base, headers=bob)).status_code == 404
    assert (await client.post(f"{base}/stream", json=RUN, headers=bob)).status_code == 404
    assert (await client.get(f"{base}/{run_id}/stream", headers=bob)).status_code == 404
    assert (await client.post(f"{base}/{run_id}/cancel", headers=bob)).status_code == 404
    assert (await client.delete(f"{base}/{run_id}", headers=bob)).status_code == 404
    assert (await client.get(f"{base}/{run_id}", headers=alice)).status_code == 200


async def test_run_routes_need_a_token(app: Quart) -> None:
    client = app.test_client()
    response = await client.post("/runs/wait", json=RUN)
    assert response.status_code == 401
