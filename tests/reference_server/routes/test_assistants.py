"""``/assistants`` routes: bodies shaped like ``langgraph dev``'s, and their errors."""

from __future__ import annotations

import uuid

from quart.typing import TestClientProtocol as Client

from reference_server.resources import system_assistant_id

COUNTER_SYSTEM_ID = str(uuid.uuid5(uuid.UUID("6ba7b821-9dad-11d1-80b4-00c04fd430c8"), "counter"))
ASSISTANT_KEYS = [
    "assistant_id",
    "graph_id",
    "config",
    "context",
    "metadata",
    "name",
    "created_at",
    "updated_at",
    "version",
    "description",
]


async def _create(client: Client, **body: object) -> dict:
    response = await client.post("/assistants", json={"graph_id": "counter", **body})
    assert response.status_code == 200, await response.get_data(as_text=True)
    return await response.get_json()


async def test_system_assistant_per_graph(client: Client) -> None:
    assert system_assistant_id("counter") == COUNTER_SYSTEM_ID
    response = await client.get(f"/assistants/{COUNTER_SYSTEM_ID}")
    assert response.status_code == 200
    assistant = await response.get_json()
    assert list(assistant) == ASSISTANT_KEYS
    assert assistant["metadata"] == {"created_by": "system"}
    assert assistant["name"] == "counter" and assistant["version"] == 1
    found = await client.post("/assistants/search", json={"metadata": {"created_by": "system"}})
    assert sorted(item["graph_id"] for item in await found.get_json()) == [
        "chat",
        "counter",
        "factory",
        "parent",
        "slow",
    ]


async def test_create_get_and_context_mirrors_configurable(client: Client) -> None:
    created = await _create(client, config={"configurable": {"a": 1}}, metadata={"m": 1}, name="n1")
    assert list(created) == ASSISTANT_KEYS
    assert created["context"] == {"a": 1}
    assert created["created_at"] == created["updated_at"]
    fetched = await (await client.get(f"/assistants/{created['assistant_id']}")).get_json()
    assert fetched == created
    unnamed = await _create(client)
    assert unnamed["name"] == "Untitled" and unnamed["context"] == {}


async def test_create_existing_id_conflicts_unless_do_nothing(client: Client) -> None:
    created = await _create(client, name="original")
    again = await client.post(
        "/assistants",
        json={"graph_id": "counter", "assistant_id": created["assistant_id"], "name": "other"},
    )
    assert again.status_code == 409
    assert await again.get_json() == {
        "detail": f"Assistant {created['assistant_id']} already exists"
    }
    kept = await client.post(
        "/assistants",
        json={
            "graph_id": "counter",
            "assistant_id": created["assistant_id"],
            "name": "other",
            "if_exists": "do_nothing",
        },
    )
    assert kept.status_code == 200
    assert (await kept.get_json())["name"] == "original"


async def test_create_validation_errors_name_the_field(client: Client) -> None:
    missing = await client.post("/assistants", json={"graph_idx": "counter"})
    assert missing.status_code == 422
    assert await missing.get_json() == {"detail": '"graph_id" is a required property'}
    wrong_type = await client.post("/assistants", json={"graph_id": "counter", "config": 3})
    assert wrong_type.status_code == 422
    assert '"config"' in (await wrong_type.get_json())["detail"]
    bad_choice = await client.post(
        "/assistants", json={"graph_id": "counter", "if_exists": "explode"}
    )
    assert bad_choice.status_code == 422
    assert '"if_exists"' in (await bad_choice.get_json())["detail"]
    unknown_graph = await client.post("/assistants", json={"graph_id": "nope"})
    assert unknown_graph.status_code == 404
    assert await unknown_graph.get_json() == {
        "detail": "Graph 'nope' not found. Expected one of: ['chat', 'counter', 'factory', 'parent', 'slow']"
    }
    not_an_object = await client.post("/assistants", json=[1])
    assert not_an_object.status_code == 422
    assert "JSON object" in (await not_an_object.get_json())["detail"]


async def test_unknown_and_malformed_ids(client: Client) -> None:
    malformed = await client.get("/assistants/not-a-uuid")
    assert malformed.status_code == 422
    assert await malformed.get_json() == {"detail": "Invalid assistant ID: must be a UUID"}
    unknown_id = str(uuid.uuid4())
    unknown = await client.get(f"/assistants/{unknown_id}")
    assert unknown.status_code == 404
    assert await unknown.get_json() == {"detail": "Not Found"}
    for method in ("patch", "delete"):
        response = await getattr(client, method)(f"/assistants/{unknown_id}")
        assert response.status_code == 404, method
        assert await response.get_json() == {"detail": f"Assistant with ID {unknown_id} not found"}


async def test_patch_creates_versions_and_latest_switches(client: Client) -> None:
    created = await _create(client, metadata={"m": 1}, name="n1")
    assistant_id = created["assistant_id"]
    patched = await (
        await client.patch(f"/assistants/{assistant_id}", json={"metadata": {"k": 2}, "name": "n2"})
    ).get_json()
    assert patched["version"] == 2
    assert patched["metadata"] == {"m": 1, "k": 2}
    assert patched["created_at"] == created["created_at"]
    assert patched["updated_at"] > created["updated_at"]

    versions = await (await client.post(f"/assistants/{assistant_id}/versions", json={})).get_json()
    assert [(entry["version"], entry["name"]) for entry in versions] == [(2, "n2"), (1, "n1")]
    assert list(versions[0]) == [
        "assistant_id",
        "version",
        "graph_id",
        "config",
        "context",
        "metadata",
        "created_at",
        "name",
        "description",
    ]
    latest = await client.post(f"/assistants/{assistant_id}/latest", json={"version": 1})
    assert latest.status_code == 200
    restored = await latest.get_json()
    assert (restored["version"], restored["name"], restored["metadata"]) == (1, "n1", {"m": 1})
    # A patch after going back still gets a new number.
    third = await (
        await client.patch(f"/assistants/{assistant_id}", json={"name": "n3"})
    ).get_json()
    assert third["version"] == 3
    missing = await client.post(f"/assistants/{assistant_id}/latest", json={"version": 9})
    assert missing.status_code == 404
    no_version = await client.post(f"/assistants/{assistant_id}/latest", json={})
    assert no_version.status_code == 422


async def test_delete(client: Client) -> None:
    created = await _create(client)
    deleted = await client.delete(f"/assistants/{created['assistant_id']}")
    assert deleted.status_code == 204
    assert (await client.get(f"/assistants/{created['assistant_id']}")).status_code == 404


async def test_search_count_paging_and_sorting(client: Client) -> None:
    for index in range(3):
        await _create(client, metadata={"batch": True, "index": index}, name=f"bot {index}")
    response = await client.post(
        "/assistants/search",
        json={"metadata": {"batch": True}, "limit": 2, "sort_by": "name", "sort_order": "asc"},
    )
    assert [item["name"] for item in await response.get_json()] == ["bot 0", "bot 1"]
    # Upstream's count: the items so far plus one when more remain.
    assert response.headers["x-pagination-total"] == "3"
    assert response.headers["x-pagination-next"] == "2"
    last_page = await client.post(
        "/assistants/search", json={"metadata": {"batch": True}, "limit": 2, "offset": 2}
    )
    assert len(await last_page.get_json()) == 1
    assert "x-pagination-next" not in last_page.headers
    assert last_page.headers["x-pagination-total"] == "3"
    # As upstream counts: one page of one, more remain -> "2", not the 3 matches.
    first_of_many = await client.post(
        "/assistants/search", json={"metadata": {"batch": True}, "limit": 1}
    )
    assert first_of_many.headers["x-pagination-total"] == "2"
    assert first_of_many.headers["x-pagination-next"] == "1"
    by_graph = await client.post("/assistants/search", json={"graph_id": "parent"})
    assert [item["graph_id"] for item in await by_graph.get_json()] == ["parent"]
    selected = await client.post(
        "/assistants/search", json={"graph_id": "parent", "select": ["assistant_id"]}
    )
    assert await selected.get_json() == [{"assistant_id": system_assistant_id("parent")}]
    count = await client.post("/assistants/count", json={"metadata": {"batch": True}})
    assert await count.get_json() == 3
    assert await (await client.post("/assistants/count", json={})).get_json() == 8
    bad_sort = await client.post("/assistants/search", json={"sort_by": "bogus"})
    assert bad_sort.status_code == 422 and '"sort_by"' in (await bad_sort.get_json())["detail"]
    bad_limit = await client.post("/assistants/search", json={"limit": 0})
    assert bad_limit.status_code == 422 and '"limit"' in (await bad_limit.get_json())["detail"]


async def test_schemas(client: Client) -> None:
    response = await client.get(f"/assistants/{COUNTER_SYSTEM_ID}/schemas")
    assert response.status_code == 200
    schemas = await response.get_json()
    assert list(schemas) == [
        "graph_id",
        "input_schema",
        "output_schema",
        "state_schema",
        "config_schema",
        "context_schema",
    ]
    assert schemas["graph_id"] == "counter"
    assert set(schemas["input_schema"]["properties"]) == {"items", "note"}
    state = schemas["state_schema"]
    assert state["title"] == "counter_state"
    assert all(field.get("default", "missing") is None for field in state["properties"].values())
    assert schemas["config_schema"] == {} and schemas["context_schema"] is None


async def test_graph_drawing_and_xray(client: Client) -> None:
    parent_id = system_assistant_id("parent")
    plain = await (await client.get(f"/assistants/{parent_id}/graph")).get_json()
    assert [node["id"] for node in plain["nodes"]] == ["__start__", "child", "__end__"]
    assert plain["nodes"][1] == {"id": "child", "type": "runnable", "data": {"name": "child"}}
    xray = await (await client.get(f"/assistants/{parent_id}/graph?xray=true")).get_json()
    assert "child:first" in [node["id"] for node in xray["nodes"]]
    by_graph_id = await (await client.get("/assistants/parent/graph?xray=true")).get_json()
    assert by_graph_id == xray
    not_for_schemas = await client.get("/assistants/parent/schemas")
    assert not_for_schemas.status_code == 422
    bad = await client.get(f"/assistants/{parent_id}/graph?xray=maybe")
    assert bad.status_code == 422 and '"xray"' in (await bad.get_json())["detail"]


async def test_subgraphs(client: Client) -> None:
    parent_id = system_assistant_id("parent")
    found = await (await client.get(f"/assistants/{parent_id}/subgraphs")).get_json()
    assert list(found) == ["child"]
    assert list(found["child"]) == [
        "input_schema",
        "output_schema",
        "state_schema",
        "config_schema",
        "context_schema",
    ]
    by_namespace = await (await client.get(f"/assistants/{parent_id}/subgraphs/child")).get_json()
    assert list(by_namespace) == ["child"]
    assert await (await client.get(f"/assistants/{parent_id}/subgraphs/none")).get_json() == {}
    assert await (await client.get(f"/assistants/{COUNTER_SYSTEM_ID}/subgraphs")).get_json() == {}


async def test_factory_graph_is_called_with_assistant_config(client: Client) -> None:
    created = await client.post(
        "/assistants",
        json={"graph_id": "factory", "config": {"configurable": {"model": "m1"}}},
    )
    assistant = await created.get_json()
    response = await client.get(f"/assistants/{assistant['assistant_id']}/schemas")
    assert response.status_code == 200
    assert (await response.get_json())["graph_id"] == "factory"
