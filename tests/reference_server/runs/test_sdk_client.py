"""The official ``langgraph_sdk`` Python client driving whole conversations against the
reference server started as a subprocess: stream, history, join, rejoin, cancel, resume."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from langgraph_sdk import get_client
from langgraph_sdk.client import LangGraphClient
from run_helpers import WEATHER_QUESTION, slow_input, user_input

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest.fixture
async def sdk(
    reference_server_url: str, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[LangGraphClient]:
    # The client would send a key found in the environment; this server has auth off.
    for name in ("LANGGRAPH_API_KEY", "LANGSMITH_API_KEY", "LANGCHAIN_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    client = get_client(url=reference_server_url)
    try:
        yield client
    finally:
        await client.aclose()


async def test_stream_a_conversation_then_read_history(sdk: LangGraphClient) -> None:
    thread = await sdk.threads.create()
    parts = [
        part
        async for part in sdk.runs.stream(
            thread["thread_id"],
            "weather_agent",
            input=user_input(WEATHER_QUESTION),
            stream_mode=["values", "messages-tuple"],
        )
    ]
    kinds = {part.event for part in parts}
    assert kinds == {"metadata", "values", "messages"}
    final = [part.data for part in parts if part.event == "values"][-1]
    assert final["messages"][-1]["content"].startswith("Here is what I found")
    # A second turn on the same thread builds on the first.
    second = [
        part
        async for part in sdk.runs.stream(
            thread["thread_id"], "weather_agent", input=user_input("hi"), stream_mode="values"
        )
    ]
    assert len(second[-1].data["messages"]) == 6
    history = await sdk.threads.get_history(thread["thread_id"])
    assert history[0]["values"]["messages"] == second[-1].data["messages"]
    state = await sdk.threads.get_state(thread["thread_id"])
    assert state["values"] == history[0]["values"]
    runs = await sdk.runs.list(thread["thread_id"])
    assert [run["status"] for run in runs] == ["success", "success"]


async def test_background_run_join_and_rejoin_stream(sdk: LangGraphClient) -> None:
    thread = await sdk.threads.create()
    run = await sdk.runs.create(
        thread["thread_id"],
        "weather_agent",
        input=slow_input(100),
        stream_mode=["values"],
        stream_resumable=True,
    )
    joined = await sdk.runs.join(thread["thread_id"], run["run_id"])
    assert joined["messages"][-1]["type"] == "ai"
    replayed = [
        part
        async for part in sdk.runs.join_stream(
            thread["thread_id"], run["run_id"], last_event_id="-1"
        )
    ]
    assert [part.event for part in replayed] == ["metadata", "values", "values"]
    assert replayed[-1].data == joined
    assert (await sdk.runs.get(thread["thread_id"], run["run_id"]))["status"] == "success"


async def test_cancel_a_running_run(sdk: LangGraphClient) -> None:
    thread = await sdk.threads.create()
    run = await sdk.runs.create(
        thread["thread_id"],
        "weather_agent",
        input=slow_input(300),
        stream_mode="messages-tuple",
    )
    stream = sdk.runs.join_stream(thread["thread_id"], run["run_id"])
    # The first token arrives 0.3 s in; the reply takes seconds more.
    first = await anext(aiter(stream))
    assert first.event == "messages"
    await stream.aclose()  # type: ignore[attr-defined]
    await sdk.runs.cancel(thread["thread_id"], run["run_id"], wait=True)
    assert (await sdk.runs.get(thread["thread_id"], run["run_id"]))["status"] == "interrupted"
    assert (await sdk.threads.get(thread["thread_id"]))["status"] == "interrupted"


async def test_interrupt_and_resume_with_wait(sdk: LangGraphClient) -> None:
    thread = await sdk.threads.create()
    paused = await sdk.runs.wait(thread["thread_id"], "approval_agent", input=user_input("go"))
    assert paused["__interrupt__"][0]["value"]["question"] == "Approve the proposal?"
    resumed = await sdk.runs.wait(thread["thread_id"], "approval_agent", command={"resume": "no"})
    assert resumed["messages"][-1]["content"] == "The proposal was rejected (answer: no)."


async def test_stateless_wait_and_stream(sdk: LangGraphClient) -> None:
    result = await sdk.runs.wait(None, "custom_events", input=user_input("hi"))
    assert result["messages"][-1]["content"] == "All three steps are done."
    parts = [
        part
        async for part in sdk.runs.stream(
            None, "custom_events", input=user_input("hi"), stream_mode="custom"
        )
    ]
    assert [part.data for part in parts if part.event == "custom"] == [
        {"progress": 1},
        {"progress": 2},
        {"progress": 3},
    ]


class _CuttingProxy:
    """A loopback TCP proxy that cuts its FIRST connection once the response has carried the
    headers and two events: the client sees a stream broken mid-run."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.connections = 0
        self.server: asyncio.Server | None = None

    async def start(self) -> str:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port = self.server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        cut = self.connections == 1
        upstream_reader, upstream_writer = await asyncio.open_connection(
            "127.0.0.1", self.target_port
        )

        async def _requests() -> None:
            while data := await reader.read(65536):
                upstream_writer.write(data)
                await upstream_writer.drain()

        forward = asyncio.create_task(_requests())
        blank_lines = 0
        try:
            while data := await upstream_reader.read(65536):
                writer.write(data)
                await writer.drain()
                blank_lines += data.count(b"\r\n\r\n")
                if cut and blank_lines >= 3:
                    break
        finally:
            forward.cancel()
            writer.close()
            upstream_writer.close()


async def test_sdk_reconnects_a_broken_stream_with_last_event_id(
    sdk: LangGraphClient, reference_server_url: str
) -> None:
    thread = await sdk.threads.create()
    proxy = _CuttingProxy(int(reference_server_url.rsplit(":", 1)[1]))
    proxied = get_client(url=await proxy.start())
    try:
        parts = [
            part
            async for part in proxied.runs.stream(
                thread["thread_id"],
                "weather_agent",
                input=slow_input(50),
                stream_mode=["values", "messages-tuple"],
                stream_resumable=True,
            )
        ]
    finally:
        await proxied.aclose()
        await proxy.stop()
    assert proxy.connections >= 2  # the cut, then the reconnect to Location
    names = [part.event for part in parts]
    assert names[0] == "metadata" and names.count("metadata") == 1
    assert names[-1] == "values"
    run_id = parts[0].data["run_id"]
    replay = [
        part async for part in sdk.runs.join_stream(thread["thread_id"], run_id, last_event_id="-1")
    ]
    # Nothing lost, nothing twice.
    assert [(part.event, part.data) for part in parts] == [
        (part.event, part.data) for part in replay
    ]
