"""``langgraph.prebuilt.create_react_agent``: the graph most deployments run.

Asked for the weather in two cities, the model answers with two tool calls in one turn, and
the agent sends each to the tools node as its own ``Send`` task: two tool tasks in one step,
two tool messages, then the model's answer. Streamed in the modes clients read (values,
updates, messages-tuple, a list of them) and in those that show the ``Send`` (tasks, debug).
"""

from __future__ import annotations

from conformance.scenarios._build import create_thread, get_run, get_state, run_body, stream_run
from conformance.scenarios.model import Scenario

REACT_AGENT = "react_agent"
TWO_CITIES_QUESTION = "What is the weather in Paris and London?"

# name part -> (stream_mode, capability)
_MODES: dict[str, tuple[list[str], str]] = {
    "values": (["values"], "stream_values"),
    "updates": (["updates"], "stream_updates"),
    "messages_tuple": (["messages-tuple"], "stream_messages_tuple"),
    "mode_list": (["values", "updates", "messages-tuple"], "runs"),
    "tasks": (["tasks"], "stream_tasks"),
    "debug": (["debug"], "stream_debug"),
}


def _react_scenario(name: str, modes: list[str], capability: str) -> Scenario:
    return Scenario(
        name=f"react_agent_{name}",
        description=f"create_react_agent, two tool calls routed by Send, stream_mode {modes}",
        capability=capability,
        model_dependent=True,
        steps=(
            create_thread(),
            stream_run("stream", run_body(REACT_AGENT, TWO_CITIES_QUESTION, stream_mode=modes)),
            get_run(),
            get_state(),
        ),
    )


SCENARIOS: tuple[Scenario, ...] = tuple(
    _react_scenario(name, modes, capability) for name, (modes, capability) in _MODES.items()
)
