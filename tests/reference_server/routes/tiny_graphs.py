"""Small graphs with no model, served to the route tests through a generated langgraph.json."""

from __future__ import annotations

import asyncio
import operator
from typing import Annotated, Any

from langchain_core.messages import AIMessage
from langchain_core.runnables import RunnableConfig
from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph.graph.state import CompiledStateGraph
from typing_extensions import TypedDict


class CounterState(TypedDict, total=False):
    items: Annotated[list[str], operator.add]
    note: str


def _first(state: CounterState) -> dict[str, Any]:
    return {"items": ["first"]}


def _second(state: CounterState) -> dict[str, Any]:
    return {"items": ["second"]}


def _build_counter() -> CompiledStateGraph:
    builder = StateGraph(CounterState)
    builder.add_node("first", _first)
    builder.add_node("second", _second)
    builder.add_edge(START, "first")
    builder.add_edge("first", "second")
    builder.add_edge("second", END)
    return builder.compile()


def _build_parent() -> CompiledStateGraph:
    builder = StateGraph(CounterState)
    builder.add_node("child", _build_counter())
    builder.add_edge(START, "child")
    builder.add_edge("child", END)
    return builder.compile()


async def _wait_long(state: CounterState) -> dict[str, Any]:
    await asyncio.sleep(60)
    return {"items": ["late"]}


def _build_slow() -> CompiledStateGraph:
    builder = StateGraph(CounterState)
    builder.add_node("wait_long", _wait_long)
    builder.add_edge(START, "wait_long")
    return builder.compile()


def _reply(state: MessagesState) -> dict[str, Any]:
    return {"messages": [AIMessage(content="réponse", id="ai-1")]}


def _build_chat() -> CompiledStateGraph:
    builder = StateGraph(MessagesState)
    builder.add_node("reply", _reply)
    builder.add_edge(START, "reply")
    return builder.compile()


counter = _build_counter()
chat = _build_chat()
slow = _build_slow()
parent = _build_parent()
uncompiled = StateGraph(CounterState)
uncompiled.add_node("first", _first)
uncompiled.add_edge(START, "first")

FACTORY_CALLS: list[dict[str, Any]] = []


def counter_factory(config: RunnableConfig) -> CompiledStateGraph:
    FACTORY_CALLS.append(dict(config.get("configurable") or {}))
    return _build_counter()


async def async_counter_factory() -> CompiledStateGraph:
    return _build_counter()
