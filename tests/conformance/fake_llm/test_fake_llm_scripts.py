"""The pure script selection: every catalogue entry, its precedence, and bad requests."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from conformance.fake_llm.scripts import (
    CATALOGUE,
    GREETING,
    MAX_DELAY_MS,
    MAX_LONG_TOKENS,
    Fault,
    RequestError,
    Script,
    long_tokens,
    select_script,
    tokenize,
)

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather for a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}


def _request(*contents: str, tools: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    request: dict[str, Any] = {
        "model": "fake",
        "messages": [{"role": "user", "content": content} for content in contents],
    }
    if tools is not None:
        request["tools"] = tools
    return request


def _select(text: str, *, with_tool: bool = True) -> Script:
    return select_script(_request(text, tools=[WEATHER_TOOL] if with_tool else None))


def test_catalogue_lists_every_script_once_in_selection_order() -> None:
    names = [entry.name for entry in CATALOGUE]
    assert names == [
        "tool_result_answer",
        "fault_500",
        "fault_429",
        "fault_cut",
        "fault_malformed",
        "fault_hang",
        "long",
        "two_tool_calls",
        "tool_call",
        "greeting",
    ]


@pytest.mark.parametrize(
    "entry", [entry for entry in CATALOGUE if entry.name != "tool_result_answer"]
)
def test_each_catalogue_example_selects_its_entry(entry: Any) -> None:
    assert _select(entry.example_prompt).name == entry.name


def test_greeting_for_anything_else() -> None:
    script = _select("hi")
    assert script.name == "greeting"
    assert script.text == GREETING
    assert script.tool_calls == ()
    assert script.fault is None
    assert script.finish_reason == "stop"
    assert script.text_tokens == (
        "Hello",
        "!",
        " How",
        " can",
        " I",
        " help",
        " you",
        " today",
        "?",
    )


def test_one_weather_call_keeps_the_city_casing() -> None:
    script = _select("What is the WEATHER in Paris?")
    assert script.name == "tool_call"
    assert script.text_tokens == ()
    assert script.finish_reason == "tool_calls"
    [call] = script.tool_calls
    assert call.name == "get_weather"
    assert orjson.loads(call.arguments) == {"city": "Paris"}
    assert call.id.startswith("call_")


def test_two_cities_give_two_calls_in_one_turn() -> None:
    script = _select("weather in Paris and london please")
    assert script.name == "two_tool_calls"
    assert [orjson.loads(call.arguments) for call in script.tool_calls] == [
        {"city": "Paris"},
        {"city": "london"},
    ]
    first, second = script.tool_calls
    assert first.id != second.id


def test_weather_without_the_tool_offered_is_answered_with_text() -> None:
    assert _select("What is the weather in Paris?", with_tool=False).name == "greeting"
    other_tool = {"type": "function", "function": {"name": "search"}}
    assert select_script(_request("weather in Paris", tools=[other_tool])).name == "greeting"


def test_non_ascii_city() -> None:
    [call] = _select("weather in Zürich").tool_calls
    assert orjson.loads(call.arguments) == {"city": "Zürich"}
    assert "".join(call.argument_fragments) == call.arguments


def test_argument_fragments_reassemble_into_the_arguments() -> None:
    [call] = _select("weather in Paris").tool_calls
    assert call.arguments == '{"city":"Paris"}'
    assert call.argument_fragments == ('{"', "city", '":"', "Paris", '"}')


@pytest.mark.parametrize("count", [0, 1, 7, 2000])
def test_long_gives_exactly_n_tokens(count: int) -> None:
    script = _select(f"please write long:{count}")
    assert script.name == "long"
    assert len(script.text_tokens) == count
    assert script.completion_tokens == count


def test_long_is_bounded() -> None:
    with pytest.raises(RequestError, match="long:"):
        _select(f"long:{MAX_LONG_TOKENS + 1}")


@pytest.mark.parametrize(
    ("text", "fault"),
    [
        ("fault:500", Fault.SERVER_ERROR),
        ("FAULT:429 now", Fault.RATE_LIMITED),
        ("please fault:cut", Fault.CUT),
        ("fault:malformed", Fault.MALFORMED),
        ("fault:hang", Fault.HANG),
    ],
)
def test_fault_directives(text: str, fault: Fault) -> None:
    script = _select(text)
    assert script.fault is fault
    assert script.name == f"fault_{fault.value}"


def test_faults_win_over_long_and_weather() -> None:
    assert _select("weather in Paris long:5 fault:500").fault is Fault.SERVER_ERROR
    assert _select("fault:hang fault:cut").fault is Fault.CUT


def test_long_wins_over_weather() -> None:
    assert _select("weather in Paris long:3").name == "long"


def test_delay_directive_applies_to_any_script() -> None:
    assert _select("hi").delay_ms is None
    assert _select("hi delay:250").delay_ms == 250
    assert _select("DELAY:5 weather in Paris").delay_ms == 5
    with pytest.raises(RequestError, match="delay:"):
        _select(f"delay:{MAX_DELAY_MS + 1}")


def test_tool_results_give_the_final_answer() -> None:
    request = _request("weather in Paris and Rome delay:7", tools=[WEATHER_TOOL])
    request["messages"] += [
        {"role": "assistant", "content": None, "tool_calls": [{"id": "a"}, {"id": "b"}]},
        {"role": "tool", "tool_call_id": "a", "content": "Sunny in Paris."},
        {
            "role": "tool",
            "tool_call_id": "b",
            "content": [{"type": "text", "text": "Rain in Rome."}],
        },
    ]
    script = select_script(request)
    assert script.name == "tool_result_answer"
    assert script.text == "Here is what I found: Sunny in Paris. Rain in Rome."
    # The directive comes from the last user message whichever script answers.
    assert script.delay_ms == 7


def test_only_trailing_tool_messages_are_used() -> None:
    request = _request("weather in Paris", tools=[WEATHER_TOOL])
    request["messages"] += [
        {"role": "tool", "tool_call_id": "old", "content": "old result"},
        {"role": "user", "content": "weather in Rome"},
        {"role": "assistant", "content": None, "tool_calls": [{"id": "x"}]},
        {"role": "tool", "tool_call_id": "x", "content": "new result"},
    ]
    assert select_script(request).text == "Here is what I found: new result"


def test_last_user_message_decides_even_after_an_assistant_turn() -> None:
    request = _request("fault:500", "hi")
    request["messages"].append({"role": "assistant", "content": "earlier answer"})
    assert select_script(request).name == "greeting"


def test_list_content_text_parts_are_read() -> None:
    request = {
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "image_url", "image_url": {"url": "data:,"}},
                    {"type": "text", "text": "fault:"},
                    {"type": "text", "text": "429"},
                ],
            }
        ]
    }
    assert select_script(request).fault is Fault.RATE_LIMITED


def test_no_user_message_gives_the_greeting() -> None:
    assert select_script({"messages": [{"role": "system", "content": "be brief"}]}).text == GREETING


def test_selection_is_deterministic_and_ids_depend_on_the_messages() -> None:
    first = _select("weather in Paris and Rome")
    again = _select("weather in Paris and Rome")
    other = _select("weather in Paris and Oslo")
    assert first == again
    assert first.completion_id == again.completion_id
    assert first.completion_id != other.completion_id
    assert first.tool_calls[0].id != other.tool_calls[0].id


def test_tokens_concatenate_to_the_text() -> None:
    text = "Here is what I found: It is sunny and 21°C in Paris.  Done!\n"
    assert "".join(tokenize(text)) == text
    assert "".join(long_tokens(30)).split() == [token.strip() for token in long_tokens(30)]


def test_usage_counts_are_deterministic() -> None:
    script = select_script(_request("hello there", "what is up"))
    assert script.prompt_tokens == (1 + 2) + (1 + 3)
    assert script.completion_tokens == len(script.text_tokens)
    [call] = _select("weather in Paris").tool_calls
    assert _select("weather in Paris").completion_tokens == 1 + len(call.argument_fragments)


@pytest.mark.parametrize(
    ("request_body", "complaint"),
    [
        ([], "JSON object"),
        ({}, "'messages' is required"),
        ({"messages": []}, "non-empty array"),
        ({"messages": "hi"}, "non-empty array"),
        ({"messages": ["hi"]}, r"messages\[0\] must be an object"),
        ({"messages": [{"content": "hi"}]}, r"messages\[0\]\.role"),
        ({"messages": [{"role": "user", "content": 5}]}, r"messages\[0\]\.content"),
        ({"messages": [{"role": "user", "content": "hi"}], "tools": {}}, "'tools' must be"),
        ({"messages": [{"role": "user", "content": "hi"}], "tools": [{}]}, r"tools\[0\]"),
    ],
)
def test_bad_requests_say_what_is_wrong(request_body: Any, complaint: str) -> None:
    with pytest.raises(RequestError, match=complaint):
        select_script(request_body)
