"""Stream modes: each mode for a greeting and for a tool round trip, lists of modes, custom."""

from __future__ import annotations

from conformance.scenarios._build import (
    GREETING,
    WEATHER_QUESTION,
    create_thread,
    get_run,
    get_state,
    run_body,
    stream_run,
)
from conformance.scenarios.model import Scenario

# stream_mode -> (name part, capability)
_MODES: dict[str, tuple[str, str]] = {
    "values": ("values", "stream_values"),
    "updates": ("updates", "stream_updates"),
    "messages": ("messages", "stream_messages"),
    "messages-tuple": ("messages_tuple", "stream_messages_tuple"),
    "events": ("events", "stream_events"),
    "debug": ("debug", "stream_debug"),
    "custom": ("custom", "custom_stream"),
    "tasks": ("tasks", "stream_tasks"),
    "checkpoints": ("checkpoints", "stream_checkpoints"),
}

_PROMPTS: dict[str, tuple[str, str]] = {
    "greeting": (GREETING, "a greeting (one model call)"),
    "tool_call": (WEATHER_QUESTION, "a tool round trip (model, tool, model)"),
}

# The mixed list exercises interleaving of several modes in one stream.
_MODE_LIST = ["values", "updates", "messages-tuple", "custom"]


def _stream_scenario(
    name: str, description: str, capability: str, body: dict[str, object], model: bool
) -> Scenario:
    return Scenario(
        name=name,
        description=description,
        capability=capability,
        model_dependent=model,
        steps=(
            create_thread(),
            stream_run("stream", body),
            # Clients (langgraph_sdk) check the run once the stream closes: it must be over.
            get_run(),
            get_state(),
        ),
    )


def _mode_scenarios() -> list[Scenario]:
    scenarios = []
    for mode, (mode_name, capability) in _MODES.items():
        for prompt_name, (text, prompt_description) in _PROMPTS.items():
            scenarios.append(
                _stream_scenario(
                    f"stream_{mode_name}_{prompt_name}",
                    f"stream_mode {mode} on weather_agent for {prompt_description}",
                    capability,
                    run_body("weather_agent", text, stream_mode=[mode]),
                    model=True,
                )
            )
    return scenarios


def _other_scenarios() -> list[Scenario]:
    scenarios = [
        _stream_scenario(
            "stream_custom_events",
            "stream_mode custom on custom_events: three stream-writer events, no model",
            "custom_stream",
            run_body("custom_events", GREETING, model=False, stream_mode=["custom"]),
            model=False,
        ),
        _stream_scenario(
            "stream_custom_events_with_values",
            "stream_mode [custom, values] on custom_events: writer events interleaved with values",
            "custom_stream",
            run_body("custom_events", GREETING, model=False, stream_mode=["custom", "values"]),
            model=False,
        ),
        _stream_scenario(
            "stream_default_mode",
            "no stream_mode given: the default (values) is used",
            "stream_values",
            run_body("weather_agent", GREETING),
            model=True,
        ),
        _stream_scenario(
            "stream_mode_string",
            "stream_mode given as a single string rather than a list",
            "stream_updates",
            run_body("weather_agent", GREETING, stream_mode="updates"),
            model=True,
        ),
    ]
    for prompt_name, (text, prompt_description) in _PROMPTS.items():
        scenarios.append(
            _stream_scenario(
                f"stream_mode_list_{prompt_name}",
                f"stream_mode {_MODE_LIST} for {prompt_description}: each mode keeps its own "
                "event name, interleaved in graph order",
                "runs",
                run_body("weather_agent", text, stream_mode=_MODE_LIST),
                model=True,
            )
        )
    return scenarios


SCENARIOS: tuple[Scenario, ...] = (*_mode_scenarios(), *_other_scenarios())
