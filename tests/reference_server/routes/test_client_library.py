"""The official ``langgraph_sdk`` client against a real server (granian, over HTTP) for the
assistant, thread and store routes, with its default auth-free setup."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from langgraph_sdk import get_client

from conformance.processes import ServerProcess, free_port, python_module

TINY_GRAPHS = Path(__file__).with_name("tiny_graphs.py")


@pytest.fixture(scope="module")
def server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    directory = tmp_path_factory.mktemp("sdk")
    config_path = directory / "langgraph.json"
    config_path.write_text(
        json.dumps(
            {
                "graphs": {
                    "counter": f"{TINY_GRAPHS}:counter",
                    "parent": f"{TINY_GRAPHS}:parent",
                }
            }
        )
    )
    port = free_port()
    argv = python_module(
        "reference_server", "--config", str(config_path), "--port", str(port), "--in-memory"
    )
    with ServerProcess(argv, port=port, name="reference-server") as server:
        yield server.url


async def test_assistants_through_the_sdk(server_url: str) -> None:
    client = get_client(url=server_url)
    created = await client.assistants.create(
        "counter", config={"configurable": {"a": 1}}, metadata={"team": "x"}, name="mine"
    )
    assert created["context"] == {"a": 1}
    assistant_id = created["assistant_id"]
    assert (await client.assistants.get(assistant_id))["name"] == "mine"
    updated = await client.assistants.update(assistant_id, name="mine v2")
    assert updated["version"] == 2
    versions = await client.assistants.get_versions(assistant_id)
    assert [entry["version"] for entry in versions] == [2, 1]
    latest = await client.assistants.set_latest(assistant_id, 1)
    assert latest["name"] == "mine"
    found = await client.assistants.search(metadata={"team": "x"})
    assert [item["assistant_id"] for item in found] == [assistant_id]
    assert await client.assistants.count(graph_id="counter") == 2
    schemas = await client.assistants.get_schemas(assistant_id)
    assert schemas["state_schema"]["title"] == "counter_state"
    drawing = await client.assistants.get_graph("parent", xray=True)
    assert "child:first" in [node["id"] for node in drawing["nodes"]]
    system = await client.assistants.search(graph_id="parent")
    subgraphs = await client.assistants.get_subgraphs(system[0]["assistant_id"])
    assert list(subgraphs) == ["child"]
    await client.assistants.delete(assistant_id)
    assert await client.assistants.count(graph_id="counter") == 1


async def test_threads_through_the_sdk(server_url: str) -> None:
    client = get_client(url=server_url)
    thread = await client.threads.create(metadata={"graph_id": "counter", "kind": "sdk"})
    thread_id = thread["thread_id"]
    written = await client.threads.update_state(thread_id, {"items": ["a"]}, as_node="first")
    assert written["checkpoint"]["thread_id"] == thread_id
    state = await client.threads.get_state(thread_id)
    assert state["values"] == {"items": ["a"]} and state["next"] == ["second"]
    at_checkpoint = await client.threads.get_state(
        thread_id, checkpoint_id=written["checkpoint_id"]
    )
    assert at_checkpoint["values"] == {"items": ["a"]}
    history = await client.threads.get_history(thread_id, limit=5)
    assert history[0]["checkpoint_id"] == written["checkpoint_id"]
    updated = await client.threads.update(thread_id, metadata={"more": True})
    assert updated["metadata"]["more"] is True
    found = await client.threads.search(metadata={"kind": "sdk"})
    assert [item["thread_id"] for item in found] == [thread_id]
    assert await client.threads.count(metadata={"kind": "sdk"}) == 1
    copied = await client.threads.copy(thread_id)
    copy_state = await client.threads.get_state(copied["thread_id"])
    assert copy_state["values"] == {"items": ["a"]}
    await client.threads.delete(thread_id)
    assert await client.threads.count(metadata={"kind": "sdk"}) == 1  # the copy remains


async def test_store_through_the_sdk(server_url: str) -> None:
    client = get_client(url=server_url)
    await client.store.put_item(["users", "u1"], "prefs", {"lang": "fr"})
    item = await client.store.get_item(["users", "u1"], "prefs")
    assert item["value"] == {"lang": "fr"} and item["namespace"] == ["users", "u1"]
    found = await client.store.search_items(["users"], filter={"lang": "fr"})
    assert [entry["key"] for entry in found["items"]] == ["prefs"]
    namespaces = await client.store.list_namespaces(prefix=["users"])
    assert namespaces["namespaces"] == [["users", "u1"]]
    await client.store.delete_item(["users", "u1"], "prefs")
    assert await client.store.get_item(["users", "u1"], "prefs") is None
