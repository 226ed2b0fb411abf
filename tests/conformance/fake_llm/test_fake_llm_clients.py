"""The acceptance test: real clients (langchain_openai's ChatOpenAI, the openai SDK) against
the fake LLM get tool calls, text, usage, and see every fault as an error."""

from __future__ import annotations

import json

import httpx2
import openai
import pytest
from langchain_core.messages import AIMessageChunk, BaseMessage, HumanMessage, ToolMessage
from langchain_core.tools import tool
from langchain_openai import ChatOpenAI
from openai.types.chat import ChatCompletionMessageParam
from pydantic import SecretStr

from conformance.fake_llm.scripts import GREETING


@tool
def get_weather(city: str) -> str:
    """The current weather in a city."""
    return f"It is sunny and 21°C in {city}."


def _model(fake_llm_url: str, *, stream_usage: bool = False) -> ChatOpenAI:
    return ChatOpenAI(
        base_url=fake_llm_url,
        api_key=SecretStr("unused"),
        model="fake",
        stream_usage=stream_usage,
        max_retries=0,
        # langchain_openai caches one async HTTP client per (base_url, hashable timeout) for
        # the whole process; each test here runs on its own event loop, and a pooled
        # connection from a closed loop fails. An unhashable timeout opts out of that cache.
        timeout=httpx2.Timeout(10.0),
    )


async def _streamed(model: object, prompt: str | list[BaseMessage]) -> AIMessageChunk:
    merged: AIMessageChunk | None = None
    async for chunk in model.astream(prompt):  # type: ignore[attr-defined]
        merged = chunk if merged is None else merged + chunk
    assert merged is not None
    return merged


async def test_streamed_tool_call_reassembles(fake_llm_url: str) -> None:
    model = _model(fake_llm_url).bind_tools([get_weather])
    message = await _streamed(model, "What is the weather in Paris?")
    [call] = message.tool_calls
    assert call["name"] == "get_weather"
    assert call["args"] == {"city": "Paris"}
    assert call["id"] is not None and call["id"].startswith("call_")
    # The streamed id is the one the server put in the first tool-call chunk, every time.
    again = await _streamed(model, "What is the weather in Paris?")
    assert again.tool_calls[0]["id"] == call["id"]


async def test_invoked_tool_call_matches_the_streamed_one(fake_llm_url: str) -> None:
    model = _model(fake_llm_url).bind_tools([get_weather])
    invoked = await model.ainvoke("What is the weather in Paris?")
    streamed = await _streamed(model, "What is the weather in Paris?")
    assert invoked.tool_calls == [
        {
            "name": "get_weather",
            "args": {"city": "Paris"},
            "id": streamed.tool_calls[0]["id"],
            "type": "tool_call",
        }
    ]


async def test_two_tool_calls_in_one_turn(fake_llm_url: str) -> None:
    model = _model(fake_llm_url).bind_tools([get_weather])
    for message in (
        await _streamed(model, "What is the weather in Paris and Rome?"),
        await model.ainvoke("What is the weather in Paris and Rome?"),
    ):
        assert [(call["name"], call["args"]) for call in message.tool_calls] == [
            ("get_weather", {"city": "Paris"}),
            ("get_weather", {"city": "Rome"}),
        ]
        assert len({call["id"] for call in message.tool_calls}) == 2


async def test_greeting_as_text(fake_llm_url: str) -> None:
    model = _model(fake_llm_url).bind_tools([get_weather])
    streamed = await _streamed(model, "hi")
    assert streamed.content == GREETING
    assert streamed.tool_calls == []
    assert (await model.ainvoke("hi")).content == GREETING


async def test_weather_without_the_tool_is_text(fake_llm_url: str) -> None:
    message = await _model(fake_llm_url).ainvoke("What is the weather in Paris?")
    assert message.content == GREETING
    assert message.tool_calls == []


async def test_tool_round_trip_gives_the_final_answer(fake_llm_url: str) -> None:
    model = _model(fake_llm_url).bind_tools([get_weather])
    question = HumanMessage("What is the weather in Paris?")
    turn = await model.ainvoke([question])
    results = [
        ToolMessage(get_weather.invoke(call["args"]), tool_call_id=call["id"])
        for call in turn.tool_calls
    ]
    final = await _streamed(model, [question, turn, *results])
    assert final.content == "Here is what I found: It is sunny and 21°C in Paris."


async def test_usage_when_stream_usage_is_on(fake_llm_url: str) -> None:
    with_usage = await _streamed(_model(fake_llm_url, stream_usage=True), "hi")
    assert with_usage.usage_metadata is not None
    assert with_usage.usage_metadata["output_tokens"] == 9
    assert with_usage.usage_metadata["total_tokens"] == (
        with_usage.usage_metadata["input_tokens"] + 9
    )
    without_usage = await _streamed(_model(fake_llm_url), "hi")
    assert without_usage.usage_metadata is None


async def test_long_answer_streams_one_token_per_chunk(fake_llm_url: str) -> None:
    chunks = [chunk async for chunk in _model(fake_llm_url).astream("long:300")]
    contents = [chunk.content for chunk in chunks if chunk.content]
    assert len(contents) == 300


def _openai_client(fake_llm_url: str, timeout: float = 10.0) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(
        base_url=fake_llm_url, api_key="unused", max_retries=0, timeout=timeout
    )


async def _consume(client: openai.AsyncOpenAI, prompt: str, *, stream: bool) -> None:
    messages: list[ChatCompletionMessageParam] = [{"role": "user", "content": prompt}]
    if stream:
        response = await client.chat.completions.create(
            model="fake", messages=messages, stream=True
        )
        async for _ in response:
            pass
    else:
        await client.chat.completions.create(model="fake", messages=messages)


@pytest.mark.parametrize("stream", [True, False])
async def test_openai_sees_fault_500(fake_llm_url: str, stream: bool) -> None:
    with pytest.raises(openai.InternalServerError, match="fault:500"):
        await _consume(_openai_client(fake_llm_url), "fault:500", stream=stream)


@pytest.mark.parametrize("stream", [True, False])
async def test_openai_sees_fault_429(fake_llm_url: str, stream: bool) -> None:
    with pytest.raises(openai.RateLimitError) as raised:
        await _consume(_openai_client(fake_llm_url), "fault:429", stream=stream)
    assert raised.value.response.headers["retry-after"] == "1"


@pytest.mark.parametrize("stream", [True, False])
async def test_openai_sees_a_cut_stream(fake_llm_url: str, stream: bool) -> None:
    with pytest.raises(openai.APIConnectionError):
        await _consume(_openai_client(fake_llm_url), "fault:cut", stream=stream)


@pytest.mark.parametrize("stream", [True, False])
async def test_openai_sees_a_malformed_chunk(fake_llm_url: str, stream: bool) -> None:
    with pytest.raises(json.JSONDecodeError):
        await _consume(_openai_client(fake_llm_url), "fault:malformed", stream=stream)


@pytest.mark.parametrize("stream", [True, False])
async def test_openai_times_out_on_a_hang(fake_llm_url: str, stream: bool) -> None:
    with pytest.raises(openai.APITimeoutError):
        await _consume(_openai_client(fake_llm_url, timeout=0.3), "fault:hang", stream=stream)


async def test_openai_streamed_text_and_done(fake_llm_url: str) -> None:
    client = _openai_client(fake_llm_url)
    response = await client.chat.completions.create(
        model="fake",
        messages=[{"role": "user", "content": "hi"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = [chunk async for chunk in response]
    text = "".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices)
    assert text == GREETING
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == 9
