"""The small deterministic graphs the conformance scenarios run, served via ``langgraph.json``.

Each is a compiled graph (no factory) so that servers, tests and benchmarks can import and run
it directly; the graphs that call a model resolve the endpoint per run from
``configurable.base_url`` (see ``agent.model_endpoint``). All take
``{"messages": [{"role": "user", "content": "..."}]}``. None carries a checkpointer: the
server serving them attaches its own.
"""

from __future__ import annotations

import warnings
from typing import Any

from langchain.agents import create_agent
from langchain_core.messages import AIMessage, AnyMessage
from langchain_core.runnables import Runnable, RunnableConfig, RunnableLambda
from langchain_core.tools import StructuredTool, tool
from langgraph.config import get_config, get_stream_writer
from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.prebuilt import create_react_agent
from langgraph.runtime import Runtime
from langgraph.types import interrupt
from langgraph.warnings import LangGraphDeprecatedSinceV10

from agent.model_endpoint import scenario_chat_model
from agent.per_run_model import PerRunModelMiddleware

APPROVAL_QUESTION = "Approve the proposal?"
PROPOSAL_TEXT = "I propose to archive the old reports."
_APPROVING_ANSWERS = frozenset({"yes", "y", "approve", "approved", "ok", "true"})
CUSTOM_PROGRESS_STEPS = (1, 2, 3)
CUSTOM_EVENTS_REPLY = "All three steps are done."


def _weather_report(city: str) -> str:
    return f"It is sunny and 21°C in {city}."


@tool
def get_weather(city: str) -> str:
    """Get the current weather in a city."""
    return _weather_report(city)


async def _aweather_report(city: str) -> str:
    return _weather_report(city)


# The same tool with a coroutine as well: under a server's ``astream`` a sync-only tool runs in
# a worker thread, so two tool calls sent in one turn would finish, and stream, in either
# order; the coroutine keeps them in the order they were sent. ``invoke`` still works.
_get_weather_in_order = StructuredTool.from_function(
    func=_weather_report,
    coroutine=_aweather_report,
    name="get_weather",
    description="Get the current weather in a city.",
)


def _build_weather_agent() -> CompiledStateGraph:
    return create_agent(
        # Only a placeholder: the middleware replaces it with the run's endpoint on every call.
        scenario_chat_model({}),
        tools=[get_weather],
        middleware=[PerRunModelMiddleware(scenario_chat_model)],
        name="weather_agent",
    )


def _react_model(state: Any, runtime: Runtime[Any]) -> Runnable[Any, Any]:
    # A dynamic model: the endpoint is the run's (``configurable.base_url``), read per call.
    configurable = get_config().get("configurable") or {}
    return scenario_chat_model(configurable).bind_tools([_get_weather_in_order])


def _build_react_agent() -> CompiledStateGraph:
    # ``langgraph.prebuilt.create_react_agent`` (v2, the default) sends each tool call of a
    # turn to the tools node as its own ``Send`` task: the graph shape most deployments run.
    # Deprecated since LangGraph 1.0 in favour of ``create_agent``, but still what many
    # deployed graphs are built with, so the suite covers it; the warning says nothing new.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LangGraphDeprecatedSinceV10)
        return create_react_agent(_react_model, tools=[_get_weather_in_order], name="react_agent")


def _propose(state: MessagesState) -> dict[str, list[AnyMessage]]:
    return {"messages": [AIMessage(content=PROPOSAL_TEXT)]}


def _review(state: MessagesState) -> dict[str, list[AnyMessage]]:
    answer = interrupt({"question": APPROVAL_QUESTION, "proposal": PROPOSAL_TEXT})
    return {"messages": [AIMessage(content=decision_text(answer))]}


def decision_text(answer: Any) -> str:
    """The AI message ``approval_agent`` adds once resumed with ``answer``."""
    verdict = "approved" if str(answer).strip().lower() in _APPROVING_ANSWERS else "rejected"
    return f"The proposal was {verdict} (answer: {answer})."


def _build_approval_agent() -> CompiledStateGraph:
    builder = StateGraph(MessagesState)
    builder.add_node("propose", _propose)
    builder.add_node("review", _review)
    builder.add_edge(START, "propose")
    builder.add_edge("propose", "review")
    builder.add_edge("review", END)
    return builder.compile(name="approval_agent")


def _call_model(state: MessagesState, config: RunnableConfig) -> dict[str, list[AnyMessage]]:
    model = scenario_chat_model(config.get("configurable") or {})
    return {"messages": [model.invoke(state["messages"], config)]}


async def _acall_model(state: MessagesState, config: RunnableConfig) -> dict[str, list[AnyMessage]]:
    model = scenario_chat_model(config.get("configurable") or {})
    return {"messages": [await model.ainvoke(state["messages"], config)]}


def _build_research_subgraph() -> CompiledStateGraph:
    builder = StateGraph(MessagesState)
    # Both forms, so the graph runs under ``invoke`` as well as under a server's ``astream``.
    builder.add_node("call_model", RunnableLambda(_call_model, _acall_model, name="call_model"))
    builder.add_edge(START, "call_model")
    builder.add_edge("call_model", END)
    return builder.compile(name="research")


def _summarise(state: MessagesState) -> dict[str, list[AnyMessage]]:
    findings = state["messages"][-1].text if state["messages"] else ""
    return {"messages": [AIMessage(content=f"Summary: {findings}")]}


def _build_parent_agent() -> CompiledStateGraph:
    builder = StateGraph(MessagesState)
    builder.add_node("research", _build_research_subgraph())
    builder.add_node("summarise", _summarise)
    builder.add_edge(START, "research")
    builder.add_edge("research", "summarise")
    builder.add_edge("summarise", END)
    return builder.compile(name="parent_agent")


def _emit_progress(state: MessagesState) -> dict[str, list[AnyMessage]]:
    write = get_stream_writer()
    for step in CUSTOM_PROGRESS_STEPS:
        write({"progress": step})
    return {"messages": [AIMessage(content=CUSTOM_EVENTS_REPLY)]}


def _build_custom_events() -> CompiledStateGraph:
    builder = StateGraph(MessagesState)
    builder.add_node("emit_progress", _emit_progress)
    builder.add_edge(START, "emit_progress")
    builder.add_edge("emit_progress", END)
    return builder.compile(name="custom_events")


weather_agent: CompiledStateGraph = _build_weather_agent()
approval_agent: CompiledStateGraph = _build_approval_agent()
parent_agent: CompiledStateGraph = _build_parent_agent()
custom_events: CompiledStateGraph = _build_custom_events()
react_agent: CompiledStateGraph = _build_react_agent()
