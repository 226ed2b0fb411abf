"""``/store`` routes: items, search, namespaces, and their validation."""

from __future__ import annotations

from quart.typing import TestClientProtocol as Client

ITEM_KEYS = ["namespace", "key", "value", "created_at", "updated_at"]


async def _put(client: Client, namespace: list[str], key: str, value: dict) -> None:
    response = await client.put(
        "/store/items", json={"namespace": namespace, "key": key, "value": value}
    )
    assert response.status_code == 204, await response.get_data(as_text=True)


async def test_put_get_delete(client: Client) -> None:
    await _put(client, ["a", "b"], "k1", {"v": 1, "text": "é"})
    response = await client.get("/store/items?namespace=a.b&key=k1")
    item = await response.get_json()
    assert list(item) == ITEM_KEYS
    assert (item["namespace"], item["key"], item["value"]) == (
        ["a", "b"],
        "k1",
        {"v": 1, "text": "é"},
    )
    # Non-ASCII goes out unescaped, as upstream's orjson writes it.
    assert "é".encode() in await response.get_data()
    repeated = await client.get("/store/items?namespace=a&namespace=b&key=k1")
    assert (await repeated.get_json())["key"] == "k1"
    missing = await client.get("/store/items?namespace=a.b&key=zz")
    assert missing.status_code == 200 and await missing.get_json() is None
    deleted = await client.delete("/store/items", json={"namespace": ["a", "b"], "key": "k1"})
    assert deleted.status_code == 204
    assert await (await client.get("/store/items?namespace=a.b&key=k1")).get_json() is None


async def test_search_and_namespaces(client: Client) -> None:
    await _put(client, ["a", "b"], "k1", {"kind": "x"})
    await _put(client, ["a", "c"], "k2", {"kind": "y"})
    await _put(client, ["z"], "k3", {"kind": "x"})
    found = await (
        await client.post("/store/items/search", json={"namespace_prefix": ["a"]})
    ).get_json()
    assert sorted(item["key"] for item in found["items"]) == ["k1", "k2"]
    assert all(item["score"] is None for item in found["items"])
    filtered = await (
        await client.post("/store/items/search", json={"filter": {"kind": "x"}})
    ).get_json()
    assert sorted(item["key"] for item in filtered["items"]) == ["k1", "k3"]
    limited = await (await client.post("/store/items/search", json={"limit": 1})).get_json()
    assert len(limited["items"]) == 1
    namespaces = await (await client.post("/store/namespaces", json={})).get_json()
    assert sorted(namespaces["namespaces"]) == [["a", "b"], ["a", "c"], ["z"]]
    shallow = await (await client.post("/store/namespaces", json={"max_depth": 1})).get_json()
    assert sorted(shallow["namespaces"]) == [["a"], ["z"]]
    prefixed = await (await client.post("/store/namespaces", json={"prefix": ["a"]})).get_json()
    assert sorted(prefixed["namespaces"]) == [["a", "b"], ["a", "c"]]


async def test_validation(client: Client) -> None:
    dotted = await client.put("/store/items", json={"namespace": ["a.x"], "key": "k", "value": {}})
    assert dotted.status_code == 422
    assert "Namespace label 'a.x'" in (await dotted.get_json())["detail"]
    not_object = await client.put("/store/items", json={"namespace": ["a"], "key": "k", "value": 3})
    assert not_object.status_code == 422 and '"value"' in (await not_object.get_json())["detail"]
    no_key = await client.put("/store/items", json={"namespace": ["a"], "value": {}})
    assert no_key.status_code == 422
    assert await no_key.get_json() == {"detail": '"key" is a required property'}
    empty_body = await client.put("/store/items")
    assert empty_body.status_code == 422
    query_without_key = await client.get("/store/items?namespace=a")
    assert query_without_key.status_code == 422
    assert '"key"' in (await query_without_key.get_json())["detail"]
