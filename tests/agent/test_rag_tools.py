"""RAG tools against a respx-mocked RAG server."""

from __future__ import annotations

import json

import httpx
import pytest
import respx

from agent.config import RagConfig
from agent.tools.rag import SEARCH_LIMIT, rag_tools, search_collection

RAG_URL = "http://rag.test"


def _mock_collection(
    router: respx.MockRouter, collection_id: str, name: str, description: str
) -> None:
    router.get(f"{RAG_URL}/collections/{collection_id}").respond(
        json={"uuid": collection_id, "name": name, "metadata": {"description": description}}
    )


async def test_no_rag_configuration_gives_no_tools() -> None:
    assert await rag_tools(None, access_token=None) == []
    assert await rag_tools(RagConfig(rag_url=RAG_URL), access_token=None) == []
    assert await rag_tools(RagConfig(collections=["c1"]), access_token=None) == []


async def test_one_tool_per_collection_named_and_described_by_the_server(
    respx_mock: respx.MockRouter,
) -> None:
    _mock_collection(respx_mock, "c1", "Product manuals", "Manuals of every product.")
    _mock_collection(respx_mock, "c2", "HR policies", "Company HR policies.")

    tools = await rag_tools(
        RagConfig(rag_url=RAG_URL, collections=["c1", "c2"]), access_token="user-token"
    )

    assert [(tool.name, tool.description) for tool in tools] == [
        ("Product_manuals", "Manuals of every product."),
        ("HR_policies", "Company HR policies."),
    ]
    assert all(
        call.request.headers["authorization"] == "Bearer user-token" for call in respx_mock.calls
    )


async def test_collections_with_the_same_name_get_distinct_tool_names(
    respx_mock: respx.MockRouter,
) -> None:
    _mock_collection(respx_mock, "c1", "docs", "First.")
    _mock_collection(respx_mock, "c2", "docs", "Second.")

    tools = await rag_tools(RagConfig(rag_url=RAG_URL, collections=["c1", "c2"]), access_token=None)

    assert [tool.name for tool in tools] == ["docs", "docs_2"]


async def test_search_posts_the_query_and_formats_the_documents(
    respx_mock: respx.MockRouter,
) -> None:
    _mock_collection(respx_mock, "c1", "manuals", "Manuals.")
    search = respx_mock.post(f"{RAG_URL}/collections/c1/documents/search").respond(
        json=[
            {"id": "d1", "page_content": "Press the red button.", "metadata": {}, "score": 0.9},
            {"id": "d2", "page_content": "Then wait.", "metadata": {}, "score": 0.5},
        ]
    )
    (tool,) = await rag_tools(RagConfig(rag_url=RAG_URL, collections=["c1"]), access_token="tok")

    output = await tool.ainvoke({"query": "how to start"})

    assert json.loads(search.calls.last.request.content) == {
        "query": "how to start",
        "limit": SEARCH_LIMIT,
    }
    assert search.calls.last.request.headers["authorization"] == "Bearer tok"
    assert output == (
        "<all-documents>\n"
        '<document id="d1">Press the red button.</document>\n'
        '<document id="d2">Then wait.</document>\n'
        "</all-documents>"
    )


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        (httpx.Response(500, text="boom"), "the RAG server answered HTTP 500"),
        (httpx.Response(200, text="not json"), "the RAG server sent invalid JSON"),
        (httpx.Response(200, json={"documents": []}), "expected a list of documents"),
        (httpx.ConnectError("connection refused"), "ConnectError: connection refused"),
    ],
)
async def test_search_failures_come_back_as_text(
    respx_mock: respx.MockRouter, response: httpx.Response | Exception, expected: str
) -> None:
    route = respx_mock.post(f"{RAG_URL}/collections/c1/documents/search")
    if isinstance(response, Exception):
        route.mock(side_effect=response)
    else:
        route.mock(return_value=response)

    output = await search_collection(RAG_URL, "c1", "anything")

    assert output.startswith("Error searching collection c1: ")
    assert expected in output


async def test_an_undescribable_collection_still_gets_a_tool_that_reports_failures(
    respx_mock: respx.MockRouter,
) -> None:
    respx_mock.get(f"{RAG_URL}/collections/c9").respond(status_code=404)
    respx_mock.post(f"{RAG_URL}/collections/c9/documents/search").respond(status_code=404)

    (tool,) = await rag_tools(RagConfig(rag_url=RAG_URL, collections=["c9"]), access_token=None)

    assert tool.name == "collection_c9"
    assert await tool.ainvoke({"query": "x"}) == (
        "Error searching collection c9: the RAG server answered HTTP 404."
    )


async def test_empty_results_say_so(respx_mock: respx.MockRouter) -> None:
    respx_mock.post(f"{RAG_URL}/collections/c1/documents/search").respond(json=[])

    assert await search_collection(RAG_URL, "c1", "x") == "No matching documents."
