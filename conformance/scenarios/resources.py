"""Create, read, update, delete and search: assistants, threads and store items.

Search filters on a marker chosen afresh by each run (``NewId``), so a long-lived target that
already holds other assistants, threads or items gives the same answers as a fresh one.
"""

from __future__ import annotations

from conformance.scenarios._build import get
from conformance.scenarios.model import FromJson, NewId, Poll, Request, Scenario


def _search_and_count_marked(collection: str) -> tuple[Request, Request]:
    """Search and count the assistants or threads that carry this run's marker."""
    marked = {"marker": "{marker}"}
    return (
        Request(
            name="search",
            method="POST",
            path=f"/{collection}/search",
            body={"metadata": marked, "limit": 10},
        ),
        Request(
            name="count", method="POST", path=f"/{collection}/count", body={"metadata": marked}
        ),
    )


_HISTORY = Request(
    name="history", method="POST", path="/threads/{thread_id}/history", body={"limit": 10}
)


def _assistants() -> list[Scenario]:
    return [
        Scenario(
            name="assistants_crud",
            description="create, get, update, search, count, versions, schemas, graph, delete "
            "an assistant of weather_agent",
            capability="assistants",
            model_dependent=False,
            steps=(
                NewId("marker"),
                Request(
                    name="create",
                    method="POST",
                    path="/assistants",
                    body={
                        "graph_id": "weather_agent",
                        "name": "conformance weather",
                        "config": {"configurable": {"base_url": "http://127.0.0.1:9/v1"}},
                        "metadata": {"marker": "{marker}", "purpose": "conformance"},
                    },
                    captures=(FromJson("assistant_id", "/assistant_id"),),
                ),
                get("get", "/assistants/{assistant_id}"),
                Request(
                    name="update",
                    method="PATCH",
                    path="/assistants/{assistant_id}",
                    body={"name": "conformance weather v2", "metadata": {"stage": "updated"}},
                ),
                *_search_and_count_marked("assistants"),
                Request(
                    name="versions",
                    method="POST",
                    path="/assistants/{assistant_id}/versions",
                    body={"limit": 10},
                ),
                get("schemas", "/assistants/{assistant_id}/schemas"),
                get("graph", "/assistants/{assistant_id}/graph"),
                Request(
                    name="delete",
                    method="DELETE",
                    path="/assistants/{assistant_id}",
                    expect_status=204,
                ),
                get("get_deleted", "/assistants/{assistant_id}", expect_status=404),
            ),
        ),
        Scenario(
            name="assistants_system",
            description="the system assistant of a graph: found by metadata created_by=system, "
            "read by id, used by graph id",
            capability="assistants",
            model_dependent=False,
            steps=(
                Request(
                    name="search",
                    method="POST",
                    path="/assistants/search",
                    body={
                        "graph_id": "weather_agent",
                        "metadata": {"created_by": "system"},
                        "limit": 10,
                    },
                    captures=(FromJson("assistant_id", "/0/assistant_id"),),
                ),
                get("get", "/assistants/{assistant_id}"),
                get("schemas", "/assistants/{assistant_id}/schemas"),
            ),
        ),
    ]


def _threads() -> list[Scenario]:
    return [
        Scenario(
            name="threads_crud",
            description="create, get, update, search, count, state, history, copy, delete a thread",
            capability="threads",
            model_dependent=False,
            steps=(
                NewId("marker"),
                Request(
                    name="create",
                    method="POST",
                    path="/threads",
                    body={"metadata": {"marker": "{marker}", "purpose": "conformance"}},
                    captures=(FromJson("thread_id", "/thread_id"),),
                ),
                get("get", "/threads/{thread_id}"),
                Request(
                    name="update",
                    method="PATCH",
                    path="/threads/{thread_id}",
                    body={"metadata": {"stage": "updated"}},
                ),
                *_search_and_count_marked("threads"),
                get("state", "/threads/{thread_id}/state"),
                _HISTORY,
                Request(
                    name="copy",
                    method="POST",
                    path="/threads/{thread_id}/copy",
                    captures=(FromJson("copy_thread_id", "/thread_id"),),
                ),
                Request(
                    name="delete",
                    method="DELETE",
                    path="/threads/{thread_id}",
                    expect_status=204,
                ),
                Request(
                    name="delete_copy",
                    method="DELETE",
                    path="/threads/{copy_thread_id}",
                    expect_status=204,
                ),
                Poll(name="get_deleted", path="/threads/{thread_id}", expect_status=404),
            ),
        ),
        Scenario(
            name="thread_state_update",
            description="write a thread's state directly (POST /threads/{id}/state) and read it "
            "back, with its history",
            capability="threads",
            model_dependent=False,
            steps=(
                Request(
                    name="create",
                    method="POST",
                    path="/threads",
                    # Writing state needs the thread's graph; without a run, metadata names it.
                    body={"metadata": {"graph_id": "custom_events"}},
                    captures=(FromJson("thread_id", "/thread_id"),),
                ),
                Request(
                    name="update_state",
                    method="POST",
                    path="/threads/{thread_id}/state",
                    body={
                        "values": {"messages": [{"role": "user", "content": "written directly"}]}
                    },
                ),
                get("state", "/threads/{thread_id}/state"),
                _HISTORY,
            ),
        ),
    ]


def _store() -> list[Scenario]:
    namespace = ["conformance", "{marker}"]
    return [
        Scenario(
            name="store_crud",
            description="put, get, search, list namespaces, delete store items (a missing item "
            "reads as 200 null)",
            capability="store",
            model_dependent=False,
            steps=(
                NewId("marker"),
                Request(
                    name="put",
                    method="PUT",
                    path="/store/items",
                    body={
                        "namespace": namespace,
                        "key": "weather",
                        "value": {"city": "Paris", "note": "ensoleillé, 21°C"},
                    },
                    expect_status=204,
                ),
                Request(
                    name="put_second",
                    method="PUT",
                    path="/store/items",
                    body={"namespace": namespace, "key": "other", "value": {"city": "Lyon"}},
                    expect_status=204,
                ),
                get("get", "/store/items?namespace=conformance.{marker}&key=weather"),
                Request(
                    name="search",
                    method="POST",
                    path="/store/items/search",
                    body={"namespace_prefix": namespace, "limit": 10},
                ),
                Request(
                    name="search_filtered",
                    method="POST",
                    path="/store/items/search",
                    body={"namespace_prefix": namespace, "filter": {"city": "Lyon"}},
                ),
                Request(
                    name="namespaces",
                    method="POST",
                    path="/store/namespaces",
                    body={"prefix": namespace},
                ),
                Request(
                    name="delete",
                    method="DELETE",
                    path="/store/items",
                    body={"namespace": namespace, "key": "weather"},
                    expect_status=204,
                ),
                # langgraph dev answers a missing item with 200 and a JSON null, not 404.
                get("get_deleted", "/store/items?namespace=conformance.{marker}&key=weather"),
            ),
        ),
    ]


SCENARIOS: tuple[Scenario, ...] = (*_assistants(), *_threads(), *_store())
