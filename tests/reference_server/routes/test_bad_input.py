"""Input a server cannot hold is refused at the edge with a 422 naming the field, never a 500:
JSON nested too deep, integers beyond 64 bits, NUL bytes in store namespace labels. Each case
was a 500 once (the JSON encoder's recursion limit, SQLite's integer range, its text type)."""

from __future__ import annotations

import json

import pytest
from quart import Response
from quart.typing import TestClientProtocol as Client

JSON_HEADERS = {"content-type": "application/json"}


def _nested(depth: int) -> str:
    """A JSON object ``depth`` levels deep: ``{"a":{"a":...1...}}``."""
    return '{"a":' * depth + "1" + "}" * depth


async def _post_raw(client: Client, method: str, path: str, body: str) -> tuple[int, str]:
    """The status and the ``detail`` (or the whole body) of a request with a raw JSON body."""
    send = {"POST": client.post, "PUT": client.put, "PATCH": client.patch}[method]
    response = await send(path, data=body.encode(), headers=JSON_HEADERS)
    return response.status_code, await _detail(response)


async def _detail(response: Response) -> str:
    text = await response.get_data(as_text=True)
    try:
        return str(json.loads(text)["detail"])
    except (ValueError, KeyError, TypeError):
        return text


async def _new_thread(client: Client) -> str:
    response = await client.post("/threads", json={})
    return str((await response.get_json())["thread_id"])


@pytest.mark.parametrize("depth", [254, 500, 1000, 2000])
async def test_deep_json_in_thread_metadata_store_value_and_run_metadata(
    client: Client, depth: int
) -> None:
    thread_id = await _new_thread(client)
    cases = [
        ("POST", "/threads", f'{{"metadata":{_nested(depth)}}}', "metadata"),
        ("PATCH", f"/threads/{thread_id}", f'{{"metadata":{_nested(depth)}}}', "metadata"),
        (
            "PUT",
            "/store/items",
            f'{{"namespace":["n"],"key":"k","value":{_nested(depth)}}}',
            "value",
        ),
        (
            "POST",
            f"/threads/{thread_id}/runs",
            f'{{"assistant_id":"counter","metadata":{_nested(depth)}}}',
            "metadata",
        ),
    ]
    for method, path, body, field in cases:
        status, text = await _post_raw(client, method, path, body)
        assert status == 422, (method, path, status, text[:300])
        assert f'"{field}' in text, text[:300]


async def test_json_just_inside_the_depth_limit_is_kept(client: Client) -> None:
    status, text = await _post_raw(client, "POST", "/threads", f'{{"metadata":{_nested(60)}}}')
    assert status == 200, text[:300]


@pytest.mark.parametrize("offset", [2**63, 10**30, 2**64])
async def test_offsets_beyond_64_bits_on_store_search_and_run_list(
    client: Client, offset: int
) -> None:
    status, text = await _post_raw(
        client, "POST", "/store/items/search", f'{{"namespace_prefix":[],"offset":{offset}}}'
    )
    assert status == 422, text[:300]
    assert '"offset"' in text
    thread_id = await _new_thread(client)
    response = await client.get(f"/threads/{thread_id}/runs?offset={offset}")
    assert response.status_code == 422, await _detail(response)
    assert '"offset"' in await _detail(response)


async def test_largest_allowed_offset_answers_an_empty_page(client: Client) -> None:
    response = await client.post("/store/items/search", json={"offset": 2**63 - 1})
    assert response.status_code == 200, await response.get_data(as_text=True)
    assert (await response.get_json())["items"] == []


async def test_nul_byte_in_a_store_namespace_label(client: Client) -> None:
    response = await client.put(
        "/store/items", json={"namespace": ["a\x00b"], "key": "k", "value": {"v": 1}}
    )
    assert response.status_code == 422, await _detail(response)
    assert '"namespace' in await _detail(response)
    fetched = await client.get("/store/items?namespace=a%00b&key=k")
    assert fetched.status_code == 422, await fetched.get_data(as_text=True)
    searched = await client.post("/store/items/search", json={"namespace_prefix": ["a\x00"]})
    assert searched.status_code == 422, await searched.get_data(as_text=True)


@pytest.mark.parametrize("search_filter", [{"(╯°□°)╯": 1}, {"a b": 1}, {"a": {"$regex": "x"}}])
async def test_store_search_filters_the_store_cannot_express(
    client: Client, search_filter: dict[str, object]
) -> None:
    response = await client.post("/store/items/search", json={"filter": search_filter})
    assert response.status_code == 422, await _detail(response)
    assert '"filter"' in await _detail(response)
