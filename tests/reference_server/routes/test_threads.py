"""``/threads`` routes (not runs): records, search, copy, state, history."""

from __future__ import annotations

import asyncio
import uuid

from quart.typing import TestClientProtocol as Client

THREAD_KEYS = [
    "thread_id",
    "created_at",
    "updated_at",
    "state_updated_at",
    "metadata",
    "status",
    "config",
    "values",
]
STATE_KEYS = [
    "values",
    "next",
    "tasks",
    "metadata",
    "created_at",
    "checkpoint",
    "parent_checkpoint",
    "interrupts",
    "checkpoint_id",
    "parent_checkpoint_id",
]


async def _create(client: Client, **body: object) -> dict:
    response = await client.post("/threads", json=body)
    assert response.status_code == 200, await response.get_data(as_text=True)
    return await response.get_json()


async def _thread_on_graph(client: Client, graph_id: str = "counter") -> str:
    """A thread whose state lives on ``graph_id``, as after a run there (set by metadata, which
    upstream also accepts)."""
    thread = await _create(client, metadata={"graph_id": graph_id})
    return thread["thread_id"]


async def test_create_get_patch_delete(client: Client) -> None:
    thread = await _create(client, metadata={"x": 1})
    assert list(thread) == THREAD_KEYS
    assert (thread["status"], thread["values"], thread["config"]) == ("idle", None, {})
    assert uuid.UUID(thread["thread_id"]).version == 7
    thread_id = thread["thread_id"]
    assert await (await client.get(f"/threads/{thread_id}")).get_json() == thread
    patched = await (
        await client.patch(f"/threads/{thread_id}", json={"metadata": {"y": 2}})
    ).get_json()
    assert patched["metadata"] == {"x": 1, "y": 2}
    assert patched["updated_at"] > thread["updated_at"]
    assert (await client.delete(f"/threads/{thread_id}")).status_code == 204
    gone = await client.get(f"/threads/{thread_id}")
    assert gone.status_code == 404
    assert await gone.get_json() == {"detail": f"Thread with ID {thread_id} not found"}
    assert (await client.delete(f"/threads/{thread_id}")).status_code == 404


async def test_create_with_id_conflicts_unless_do_nothing(client: Client) -> None:
    thread_id = str(uuid.uuid4())
    first = await _create(client, thread_id=thread_id, metadata={"v": 1})
    assert first["thread_id"] == thread_id
    conflict = await client.post("/threads", json={"thread_id": thread_id})
    assert conflict.status_code == 409
    assert await conflict.get_json() == {"detail": f"Thread with ID {thread_id} already exists"}
    kept = await client.post("/threads", json={"thread_id": thread_id, "if_exists": "do_nothing"})
    assert kept.status_code == 200 and (await kept.get_json())["metadata"] == {"v": 1}


async def test_bad_input(client: Client) -> None:
    malformed = await client.get("/threads/zz")
    assert malformed.status_code == 422
    assert await malformed.get_json() == {"detail": "Invalid thread ID: must be a UUID"}
    bad_id = await client.post("/threads", json={"thread_id": "zz"})
    assert bad_id.status_code == 422 and '"thread_id"' in (await bad_id.get_json())["detail"]
    bad_status = await client.post("/threads/search", json={"status": "sleepy"})
    assert bad_status.status_code == 422 and '"status"' in (await bad_status.get_json())["detail"]
    bad_metadata = await client.patch(f"/threads/{uuid.uuid4()}", json={"metadata": "x"})
    assert bad_metadata.status_code == 422
    for path in ("/state", "/history"):
        missing = await client.get(f"/threads/{uuid.uuid4()}{path}")
        assert missing.status_code == 404, path


async def test_search_and_count(client: Client) -> None:
    ids = [(await _create(client, metadata={"batch": True, "n": n}))["thread_id"] for n in range(3)]
    await _create(client, metadata={"batch": False})
    response = await client.post("/threads/search", json={"metadata": {"batch": True}, "limit": 2})
    assert [item["thread_id"] for item in await response.get_json()] == [ids[2], ids[1]]
    # Upstream's count: the items so far plus one when more remain.
    assert response.headers["x-pagination-total"] == "3"
    assert response.headers["x-pagination-next"] == "2"
    by_ids = await client.post(
        "/threads/search", json={"ids": [ids[0]], "select": ["thread_id", "status"]}
    )
    assert await by_ids.get_json() == [{"thread_id": ids[0], "status": "idle"}]
    idle = await client.post("/threads/count", json={"status": "idle"})
    assert await idle.get_json() == 4
    busy = await client.post("/threads/count", json={"status": "busy"})
    assert await busy.get_json() == 0


async def test_state_of_a_thread_never_run(client: Client) -> None:
    thread = await _create(client)
    state = await (await client.get(f"/threads/{thread['thread_id']}/state")).get_json()
    assert list(state) == STATE_KEYS
    assert state["values"] == {} and state["checkpoint"] is None
    history = await client.post(f"/threads/{thread['thread_id']}/history", json={})
    assert await history.get_json() == []
    update = await client.post(
        f"/threads/{thread['thread_id']}/state", json={"values": {"items": ["x"]}}
    )
    assert update.status_code == 400
    assert "has no assigned graph ID" in (await update.get_json())["detail"]


async def test_update_state_then_read_state_and_history(client: Client) -> None:
    thread_id = await _thread_on_graph(client)
    first = await client.post(
        f"/threads/{thread_id}/state", json={"values": {"items": ["a"]}, "as_node": "first"}
    )
    assert first.status_code == 200, await first.get_data(as_text=True)
    written = await first.get_json()
    assert list(written) == ["checkpoint", "configurable", "checkpoint_id"]
    assert written["checkpoint"]["thread_id"] == thread_id
    second = await (
        await client.post(
            f"/threads/{thread_id}/state", json={"values": {"items": ["b"]}, "as_node": "first"}
        )
    ).get_json()

    state = await (await client.get(f"/threads/{thread_id}/state")).get_json()
    assert list(state) == STATE_KEYS
    assert state["values"] == {"items": ["a", "b"]}
    assert state["next"] == ["second"]
    assert state["checkpoint_id"] == second["checkpoint_id"]
    assert state["parent_checkpoint_id"] == written["checkpoint_id"]
    assert state["checkpoint"] == {
        "checkpoint_id": second["checkpoint_id"],
        "thread_id": thread_id,
        "checkpoint_ns": "",
    }
    assert [task["name"] for task in state["tasks"]] == ["second"]
    assert list(state["tasks"][0]) == [
        "id",
        "name",
        "path",
        "error",
        "interrupts",
        "checkpoint",
        "state",
        "result",
    ]
    # Reading the state twice gives the same checkpoint: nothing is invented per call.
    again = await (await client.get(f"/threads/{thread_id}/state")).get_json()
    assert again["checkpoint_id"] == state["checkpoint_id"]

    thread = await (await client.get(f"/threads/{thread_id}")).get_json()
    assert thread["values"] == {"items": ["a", "b"]}

    at_first = await (
        await client.get(f"/threads/{thread_id}/state/{written['checkpoint_id']}")
    ).get_json()
    assert at_first["values"] == {"items": ["a"]}
    posted = await (
        await client.post(
            f"/threads/{thread_id}/state/checkpoint",
            json={"checkpoint": {"checkpoint_id": written["checkpoint_id"]}},
        )
    ).get_json()
    assert posted == at_first

    history = await (await client.post(f"/threads/{thread_id}/history", json={})).get_json()
    assert [entry["checkpoint_id"] for entry in history][:2] == [
        second["checkpoint_id"],
        written["checkpoint_id"],
    ]
    limited = await (await client.get(f"/threads/{thread_id}/history?limit=1")).get_json()
    assert len(limited) == 1
    before = await (
        await client.post(
            f"/threads/{thread_id}/history",
            json={
                "limit": 5,
                "before": {"configurable": {"checkpoint_id": second["checkpoint_id"]}},
            },
        )
    ).get_json()
    assert before[0]["checkpoint_id"] == written["checkpoint_id"]
    filtered = await (
        await client.post(f"/threads/{thread_id}/history", json={"metadata": {"source": "update"}})
    ).get_json()
    assert {entry["metadata"]["source"] for entry in filtered} == {"update"}
    # The thread's metadata is recorded with each update, as upstream does.
    assert state["metadata"] == {
        "graph_id": "counter",
        "thread_id": thread_id,
        "source": "update",
        "step": 1,
        "parents": {},
    }


async def test_update_state_as_unknown_node_is_a_client_error(client: Client) -> None:
    thread_id = await _thread_on_graph(client)
    await client.post(
        f"/threads/{thread_id}/state", json={"values": {"items": ["a"]}, "as_node": "first"}
    )
    response = await client.post(
        f"/threads/{thread_id}/state", json={"values": {"items": []}, "as_node": "nope"}
    )
    assert response.status_code == 400
    assert await response.get_json() == {"detail": "Node nope does not exist"}


async def test_copy_keeps_metadata_state_and_history(client: Client) -> None:
    thread_id = await _thread_on_graph(client)
    for item in ("a", "b"):
        await client.post(
            f"/threads/{thread_id}/state", json={"values": {"items": [item]}, "as_node": "first"}
        )
    response = await client.post(f"/threads/{thread_id}/copy")
    assert response.status_code == 200
    copied = await response.get_json()
    assert copied["thread_id"] != thread_id
    assert copied["metadata"] == {"graph_id": "counter"}
    copy_state = await (await client.get(f"/threads/{copied['thread_id']}/state")).get_json()
    assert copy_state["values"] == {"items": ["a", "b"]}
    assert copy_state["checkpoint"]["thread_id"] == copied["thread_id"]
    original = await (await client.post(f"/threads/{thread_id}/history", json={})).get_json()
    copy = await (await client.post(f"/threads/{copied['thread_id']}/history", json={})).get_json()
    assert [entry["values"] for entry in copy] == [entry["values"] for entry in original]
    # The copy is independent of the original.
    await client.post(
        f"/threads/{copied['thread_id']}/state",
        json={"values": {"items": ["c"]}, "as_node": "first"},
    )
    original_state = await (await client.get(f"/threads/{thread_id}/state")).get_json()
    assert original_state["values"] == {"items": ["a", "b"]}


async def test_delete_removes_checkpoints(client: Client) -> None:
    thread_id = await _thread_on_graph(client)
    await client.post(
        f"/threads/{thread_id}/state", json={"values": {"items": ["a"]}, "as_node": "first"}
    )
    assert (await client.delete(f"/threads/{thread_id}")).status_code == 204
    recreated = await _create(client, thread_id=thread_id, metadata={"graph_id": "counter"})
    state = await (await client.get(f"/threads/{recreated['thread_id']}/state")).get_json()
    assert state["values"] == {} and state["checkpoint"] is None


async def test_state_of_a_run_thread_with_subgraphs(client: Client) -> None:
    thread_id = (await _create(client))["thread_id"]
    run = await client.post(
        f"/threads/{thread_id}/runs/wait", json={"assistant_id": "parent", "input": {"items": []}}
    )
    assert run.status_code == 200, await run.get_data(as_text=True)
    thread = await (await client.get(f"/threads/{thread_id}")).get_json()
    assert thread["metadata"]["graph_id"] == "parent"
    state = await (await client.get(f"/threads/{thread_id}/state?subgraphs=true")).get_json()
    assert state["values"] == {"items": ["first", "second"]}
    assert state["next"] == []
    history = await (await client.get(f"/threads/{thread_id}/history")).get_json()
    assert history[0]["metadata"]["source"] == "loop"


async def test_delete_stops_the_thread_s_active_run(client: Client) -> None:
    thread_id = (await _create(client))["thread_id"]
    created = await client.post(f"/threads/{thread_id}/runs", json={"assistant_id": "slow"})
    assert created.status_code == 200, await created.get_data(as_text=True)
    run_id = (await created.get_json())["run_id"]
    deleted = await asyncio.wait_for(client.delete(f"/threads/{thread_id}"), timeout=10)
    assert deleted.status_code == 204
    assert (await client.get(f"/threads/{thread_id}")).status_code == 404
    assert (await client.get(f"/threads/{thread_id}/runs/{run_id}")).status_code == 404


async def test_state_update_records_values_status_and_bad_values(client: Client) -> None:
    thread_id = await _thread_on_graph(client)
    await client.post(
        f"/threads/{thread_id}/state", json={"values": {"items": ["a"]}, "as_node": "first"}
    )
    thread = await (await client.get(f"/threads/{thread_id}")).get_json()
    # The graph would continue at "second": the thread waits, as upstream marks it.
    assert (thread["status"], thread["values"], thread["error"]) == (
        "interrupted",
        {"items": ["a"]},
        None,
    )
    await client.post(
        f"/threads/{thread_id}/state", json={"values": {"items": ["b"]}, "as_node": "second"}
    )
    assert (await (await client.get(f"/threads/{thread_id}")).get_json())["status"] == "idle"
    refused = await client.post(
        f"/threads/{thread_id}/state", json={"values": {"items": "not a list"}, "as_node": "first"}
    )
    assert refused.status_code == 400
    assert (await refused.get_json())["detail"].startswith("Invalid state update: TypeError")


async def test_create_with_supersteps(client: Client) -> None:
    response = await client.post(
        "/threads",
        json={
            "metadata": {"graph_id": "counter"},
            "supersteps": [
                {"updates": [{"values": {"items": ["a"]}, "as_node": "first"}]},
                {"updates": [{"values": {"items": ["b"]}, "as_node": "second"}]},
            ],
        },
    )
    assert response.status_code == 200, await response.get_data(as_text=True)
    thread = await response.get_json()
    assert thread["values"] == {"items": ["a", "b"]} and thread["status"] == "idle"
    history = await (await client.get(f"/threads/{thread['thread_id']}/history")).get_json()
    assert len(history) >= 2
    without_graph = await client.post(
        "/threads", json={"supersteps": [{"updates": [{"values": {}, "as_node": "first"}]}]}
    )
    assert without_graph.status_code == 400
    assert (
        "was created, but there were problems updating the state"
        in (await without_graph.get_json())["detail"]
    )
    missing_node = await client.post(
        "/threads", json={"supersteps": [{"updates": [{"values": {}}]}]}
    )
    assert missing_node.status_code == 422
    assert '"supersteps.0.updates.0.as_node"' in (await missing_node.get_json())["detail"]


async def test_message_state_is_stored_as_json(client: Client) -> None:
    thread_id = (await _create(client, metadata={"graph_id": "chat"}))["thread_id"]
    response = await client.post(
        f"/threads/{thread_id}/state",
        json={"values": {"messages": [{"role": "user", "content": "salut", "id": "h-1"}]}},
    )
    assert response.status_code == 200, await response.get_data(as_text=True)
    thread = await (await client.get(f"/threads/{thread_id}")).get_json()
    assert thread["values"] == {
        "messages": [
            {
                "content": "salut",
                "additional_kwargs": {},
                "response_metadata": {},
                "type": "human",
                "name": None,
                "id": "h-1",
            }
        ]
    }
    run = await client.post(f"/threads/{thread_id}/runs/wait", json={"assistant_id": "chat"})
    assert run.status_code == 200, await run.get_data(as_text=True)
    state = await client.get(f"/threads/{thread_id}/state")
    assert (await state.get_json())["values"]["messages"][-1]["content"] == "réponse"
    assert "réponse".encode() in await state.get_data()
