"""The auth matrix: no token, bad signature, expired, wrong audience, ``alg: none``, someone
else's resources; with an HS256 secret, a JWKS file (RS256 and ES256) and a JWKS url served on
loopback."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm
from quart import Quart
from quart.typing import TestClientProtocol as Client

from reference_server.app import create_app
from reference_server.auth import AuthenticationError, TokenVerifier
from reference_server.resources import system_assistant_id
from reference_server.settings import AuthSettings, Settings

SECRET = "a-supabase-style-secret-of-enough-length"
AUDIENCE = "authenticated"
RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
EC_KEY = ec.generate_private_key(ec.SECP256R1())


def _claims(subject: str = "alice", **overrides: Any) -> dict[str, Any]:
    return {"sub": subject, "aud": AUDIENCE, "exp": int(time.time()) + 600, **overrides}


def hs256_token(subject: str = "alice", secret: str = SECRET, **overrides: Any) -> str:
    return jwt.encode(_claims(subject, **overrides), secret, algorithm="HS256")


def rs256_token(subject: str = "alice", key: Any = RSA_KEY, **overrides: Any) -> str:
    return jwt.encode(_claims(subject, **overrides), key, algorithm="RS256", headers={"kid": "rsa"})


def es256_token(subject: str = "alice", **overrides: Any) -> str:
    return jwt.encode(
        _claims(subject, **overrides), EC_KEY, algorithm="ES256", headers={"kid": "ec"}
    )


def unsigned_token(subject: str = "alice") -> str:
    return jwt.encode(_claims(subject), None, algorithm="none")


def _jwks() -> dict[str, Any]:
    rsa_jwk = json.loads(RSAAlgorithm.to_jwk(RSA_KEY.public_key()))
    ec_jwk = json.loads(ECAlgorithm.to_jwk(EC_KEY.public_key()))
    return {
        "keys": [
            {**rsa_jwk, "kid": "rsa", "alg": "RS256", "use": "sig"},
            {**ec_jwk, "kid": "ec", "alg": "ES256", "use": "sig"},
        ]
    }


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def jwks_url() -> Iterator[str]:
    body = json.dumps(_jwks()).encode()

    class _Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/.well-known/jwks.json"
    finally:
        server.shutdown()
        server.server_close()


TINY_GRAPHS = Path(__file__).parent / "routes" / "tiny_graphs.py"


def write_config(directory: Path) -> Path:
    config_path = directory / "langgraph.json"
    config_path.write_text(json.dumps({"graphs": {"counter": f"{TINY_GRAPHS}:counter"}}))
    return config_path


async def _started(tmp_path: Path, auth: AuthSettings) -> AsyncIterator[Quart]:
    app = create_app(Settings(config_path=write_config(tmp_path), database_path=None, auth=auth))
    async with app.test_app():
        yield app


@pytest.fixture
async def hs256_client(tmp_path: Path) -> AsyncIterator[Client]:
    async for app in _started(tmp_path, AuthSettings(hs256_secret=SECRET, audience=AUDIENCE)):
        yield app.test_client()


@pytest.fixture(params=["file", "url"])
async def jwks_client(
    request: pytest.FixtureRequest, tmp_path: Path, jwks_url: str
) -> AsyncIterator[Client]:
    if request.param == "file":
        jwks_file = tmp_path / "jwks.json"
        jwks_file.write_text(json.dumps(_jwks()), encoding="utf-8")
        auth = AuthSettings(jwks_file=jwks_file, audience=AUDIENCE)
    else:
        auth = AuthSettings(jwks_url=jwks_url, audience=AUDIENCE)
    async for app in _started(tmp_path, auth):
        yield app.test_client()


async def _detail(client: Client, headers: dict[str, str]) -> tuple[int, str]:
    response = await client.post("/threads/search", json={}, headers=headers)
    body = await response.get_json()
    return response.status_code, body.get("detail", "") if isinstance(body, dict) else ""


async def test_hs256_matrix(hs256_client: Client) -> None:
    client = hs256_client
    assert (await client.get("/ok")).status_code == 200
    assert await _detail(client, {}) == (
        401,
        "Missing Authorization header: expected 'Bearer <token>'",
    )
    assert (await _detail(client, {"Authorization": "Basic abc"}))[0] == 401
    assert await _detail(
        client, _bearer(hs256_token(secret="a-wrong-secret-that-is-long-enough-too"))
    ) == (
        401,
        "Invalid token signature",
    )
    expired = hs256_token(exp=int(time.time()) - 10)
    assert await _detail(client, _bearer(expired)) == (401, "Token has expired")
    status, detail = await _detail(client, _bearer(hs256_token(aud="someone-else")))
    assert status == 401 and "audience" in detail
    status, detail = await _detail(client, _bearer(unsigned_token()))
    assert status == 401 and "algorithm" in detail
    status, detail = await _detail(client, _bearer(hs256_token(sub="")))
    assert status == 401
    no_exp = jwt.encode({"sub": "alice", "aud": AUDIENCE}, SECRET, algorithm="HS256")
    status, detail = await _detail(client, _bearer(no_exp))
    assert status == 401 and "exp" in detail
    assert (await _detail(client, _bearer(hs256_token())))[0] == 200
    unauthorized = await client.post("/threads/search", json={})
    assert unauthorized.headers["www-authenticate"] == "Bearer"
    # Every route but /ok is guarded, including the system ones.
    for path in ("/info", "/openapi.json", "/docs"):
        assert (await client.get(path)).status_code == 401, path


async def test_jwks_matrix(jwks_client: Client) -> None:
    client = jwks_client
    assert (await _detail(client, _bearer(rs256_token())))[0] == 200
    assert (await _detail(client, _bearer(es256_token())))[0] == 200
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    assert await _detail(client, _bearer(rs256_token(key=other_key))) == (
        401,
        "Invalid token signature",
    )
    status, _ = await _detail(client, _bearer(rs256_token(exp=int(time.time()) - 10)))
    assert status == 401
    status, _ = await _detail(client, _bearer(es256_token(aud="wrong")))
    assert status == 401
    status, detail = await _detail(client, _bearer(unsigned_token()))
    assert status == 401 and "algorithm" in detail
    # HS256 signed with the public key (algorithm confusion) never verifies.
    status, _ = await _detail(client, _bearer(hs256_token(secret="x" * 40)))
    assert status == 401


async def test_users_see_only_their_own_resources(hs256_client: Client) -> None:
    client = hs256_client
    alice, bob = _bearer(hs256_token("alice")), _bearer(hs256_token("bob"))

    thread = await (await client.post("/threads", json={}, headers=alice)).get_json()
    thread_id = thread["thread_id"]
    assert thread["metadata"] == {"owner": "alice"}
    for method, path in [
        ("get", f"/threads/{thread_id}"),
        ("patch", f"/threads/{thread_id}"),
        ("delete", f"/threads/{thread_id}"),
        ("get", f"/threads/{thread_id}/state"),
        ("post", f"/threads/{thread_id}/history"),
        ("post", f"/threads/{thread_id}/copy"),
    ]:
        response = await getattr(client, method)(path, json={}, headers=bob)
        assert response.status_code == 404, (method, path)
    assert (await client.get(f"/threads/{thread_id}", headers=alice)).status_code == 200
    bob_threads = await client.post("/threads/search", json={}, headers=bob)
    assert await bob_threads.get_json() == []
    # Bob cannot take Alice's thread id over either.
    taken = await client.post("/threads", json={"thread_id": thread_id}, headers=bob)
    assert taken.status_code == 409

    assistant = await (
        await client.post("/assistants", json={"graph_id": "counter"}, headers=alice)
    ).get_json()
    assistant_id = assistant["assistant_id"]
    assert (await client.get(f"/assistants/{assistant_id}", headers=bob)).status_code == 404
    assert (await client.delete(f"/assistants/{assistant_id}", headers=bob)).status_code == 404
    patched = await client.patch(
        f"/assistants/{assistant_id}", json={"metadata": {"owner": "bob"}}, headers=alice
    )
    assert (await patched.get_json())["metadata"]["owner"] == "alice"
    # System assistants are everyone's.
    system_id = system_assistant_id("counter")
    assert (await client.get(f"/assistants/{system_id}", headers=bob)).status_code == 200
    bob_assistants = await (
        await client.post("/assistants/search", json={}, headers=bob)
    ).get_json()
    assert assistant_id not in [item["assistant_id"] for item in bob_assistants]
    assert await (await client.post("/assistants/count", json={}, headers=bob)).get_json() == 1

    run = await client.post(
        f"/threads/{thread_id}/runs/wait", json={"assistant_id": "counter"}, headers=alice
    )
    assert run.status_code == 200, await run.get_data(as_text=True)
    runs = await (await client.get(f"/threads/{thread_id}/runs", headers=alice)).get_json()
    run_id = runs[0]["run_id"]
    assert (await client.get(f"/threads/{thread_id}/runs/{run_id}", headers=bob)).status_code == 404
    assert (await client.get(f"/threads/{thread_id}/runs", headers=bob)).status_code == 404


async def test_store_is_scoped_per_user(hs256_client: Client) -> None:
    client = hs256_client
    alice, bob = _bearer(hs256_token("alice")), _bearer(hs256_token("bob"))
    put = await client.put(
        "/store/items",
        json={"namespace": ["notes"], "key": "k", "value": {"v": 1}},
        headers=alice,
    )
    assert put.status_code == 204
    mine = await (await client.get("/store/items?namespace=notes&key=k", headers=alice)).get_json()
    assert mine["namespace"] == ["notes"] and mine["value"] == {"v": 1}
    theirs = await client.get("/store/items?namespace=notes&key=k", headers=bob)
    assert await theirs.get_json() is None
    bob_search = await (await client.post("/store/items/search", json={}, headers=bob)).get_json()
    assert bob_search == {"items": []}
    alice_namespaces = await (
        await client.post("/store/namespaces", json={"max_depth": 1}, headers=alice)
    ).get_json()
    assert alice_namespaces == {"namespaces": [["notes"]]}
    await client.delete("/store/items", json={"namespace": ["notes"], "key": "k"}, headers=bob)
    still = await (await client.get("/store/items?namespace=notes&key=k", headers=alice)).get_json()
    assert still is not None


def test_verifier_configuration_errors(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="either an HS256 secret or a JWKS"):
        TokenVerifier(AuthSettings(hs256_secret=SECRET, jwks_url="http://127.0.0.1:1/"))
    with pytest.raises(ValueError, match="needs an HS256 secret"):
        TokenVerifier(AuthSettings())
    broken = tmp_path / "jwks.json"
    broken.write_text("not json", encoding="utf-8")
    with pytest.raises(ValueError, match="cannot read JWKS file"):
        TokenVerifier(AuthSettings(jwks_file=broken))


async def test_verifier_without_audience_accepts_any_aud() -> None:
    verifier = TokenVerifier(AuthSettings(hs256_secret=SECRET))
    user = await verifier.verify_header(f"Bearer {hs256_token('carol', aud='anything')}")
    assert user.identity == "carol" and user.claims["aud"] == "anything"
    with pytest.raises(AuthenticationError, match="Invalid Authorization header"):
        await verifier.verify_header("Bearer ")
