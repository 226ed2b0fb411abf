"""The fake LLM's script catalogue: a chat-completion request in, a :class:`Script` out.

Pure and stateless: the reply depends only on the request body (its messages, the tools it
offers, and directives written in the last user message). No I/O, no clock, no randomness, so
the same request always yields the same script, ids included.

Selection, in order (the contract other engineers rely on; ``docs/fake-llm.md`` repeats it):

1. The last message has role ``tool``: a final answer built from the trailing tool messages,
   ``"Here is what I found: " + " ".join(<their contents>)``.
2. Otherwise the text of the last ``user`` message, lower-cased for matching:
   ``fault:500``, ``fault:429``, ``fault:cut``, ``fault:malformed``, ``fault:hang`` (first
   match in that order), then ``long:N`` (N tokens), then ``weather in A and B`` (two
   ``get_weather`` calls), then ``weather in A`` (one call), else the greeting. A tool call is
   only made when the request offers a tool of that name; otherwise the greeting is given.
   ``delay:MS`` anywhere in that text sets the pause before each streamed chunk (it applies to
   every script, the tool-result answer of rule 1 included).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import orjson

GREETING = "Hello! How can I help you today?"
TOOL_RESULT_PREFIX = "Here is what I found: "
WEATHER_TOOL = "get_weather"

MAX_LONG_TOKENS = 100_000
"""``long:N`` above this is refused: the whole answer is built in memory."""
MAX_DELAY_MS = 600_000
"""``delay:MS`` above ten minutes is refused: no test needs it and it would pin a connection."""

_LONG_WORDS = (
    "lorem",
    "ipsum",
    "dolor",
    "sit",
    "amet",
    "consectetur",
    "adipiscing",
    "elit",
    "sed",
    "do",
    "eiusmod",
    "tempor",
)

_LONG_PATTERN = re.compile(r"long:(\d+)")
_DELAY_PATTERN = re.compile(r"delay:(\d+)")
# Matched case-insensitively on the original text so the city keeps its casing.
_TWO_CITIES_PATTERN = re.compile(r"weather in (\w+) and (\w+)", re.IGNORECASE)
_ONE_CITY_PATTERN = re.compile(r"weather in (\w+)", re.IGNORECASE)
# A token is a word or a run of punctuation with the whitespace before it, so the tokens
# concatenate back to the exact text.
_TOKEN_PATTERN = re.compile(r"\s*\w+|\s*[^\w\s]+|\s+")
# Argument fragments: alternate word runs and non-word runs, the way OpenAI splits JSON.
_ARGUMENT_FRAGMENT_PATTERN = re.compile(r"\w+|\W+")


class Fault(StrEnum):
    """A failure the fake LLM can be asked to produce with ``fault:<name>``."""

    SERVER_ERROR = "500"
    """HTTP 500 with an OpenAI-style JSON error body."""
    RATE_LIMITED = "429"
    """HTTP 429 with ``retry-after: 1`` and an OpenAI-style JSON error body."""
    CUT = "cut"
    """A few content chunks, then the connection is dropped mid-body (no ``[DONE]``)."""
    MALFORMED = "malformed"
    """A stream in which one chunk is not valid JSON."""
    HANG = "hang"
    """The request is accepted and nothing is ever sent, until the client gives up."""


class RequestError(ValueError):
    """The request body cannot be answered; the message says what was wrong (HTTP 400)."""

    def __init__(self, message: str, *, param: str | None = None) -> None:
        super().__init__(message)
        self.param = param


@dataclass(frozen=True, slots=True)
class ToolCall:
    """One function call the assistant turn makes."""

    id: str
    name: str
    arguments: str
    """The JSON arguments, compact, as the client will re-assemble them."""

    @property
    def argument_fragments(self) -> tuple[str, ...]:
        """The argument JSON cut into the pieces streamed one per chunk."""
        return tuple(_ARGUMENT_FRAGMENT_PATTERN.findall(self.arguments))


@dataclass(frozen=True, slots=True)
class Script:
    """Everything the reply to one request consists of, before any encoding."""

    name: str
    """The catalogue entry that was selected (see :data:`CATALOGUE`)."""
    completion_id: str
    text_tokens: tuple[str, ...] = ()
    """The answer text, one streamed chunk per token; empty for a tool-call turn."""
    tool_calls: tuple[ToolCall, ...] = ()
    fault: Fault | None = None
    delay_ms: int | None = None
    """Pause before each streamed chunk; ``None`` means the server's default."""
    prompt_tokens: int = 0

    @property
    def text(self) -> str:
        return "".join(self.text_tokens)

    @property
    def finish_reason(self) -> str:
        return "tool_calls" if self.tool_calls else "stop"

    @property
    def completion_tokens(self) -> int:
        """One per text token; for tool calls, one per call plus one per argument fragment."""
        if self.tool_calls:
            return sum(1 + len(call.argument_fragments) for call in self.tool_calls)
        return len(self.text_tokens)


@dataclass(frozen=True, slots=True)
class CatalogueEntry:
    """One script of the catalogue, documented with a prompt that selects it."""

    name: str
    trigger: str
    reply: str
    example_prompt: str


CATALOGUE: tuple[CatalogueEntry, ...] = (
    CatalogueEntry(
        "tool_result_answer",
        "the last message has role `tool`",
        'text: "Here is what I found: " + the trailing tool messages\' contents joined by " "',
        "(any conversation ending in tool results)",
    ),
    CatalogueEntry(
        "fault_500",
        "`fault:500` in the last user message",
        "HTTP 500, OpenAI-style JSON error body",
        "fault:500",
    ),
    CatalogueEntry(
        "fault_429",
        "`fault:429` in the last user message",
        "HTTP 429, `retry-after: 1`, OpenAI-style JSON error body",
        "fault:429",
    ),
    CatalogueEntry(
        "fault_cut",
        "`fault:cut` in the last user message",
        "role chunk and three content chunks, then the connection drops (no `[DONE]`)",
        "fault:cut",
    ),
    CatalogueEntry(
        "fault_malformed",
        "`fault:malformed` in the last user message",
        "a stream whose second chunk is not valid JSON",
        "fault:malformed",
    ),
    CatalogueEntry(
        "fault_hang",
        "`fault:hang` in the last user message",
        "nothing at all (no status line) until the client disconnects",
        "fault:hang",
    ),
    CatalogueEntry(
        "long",
        "`long:N` in the last user message",
        "text of exactly N tokens (lorem ipsum words), one chunk each",
        "long:2000",
    ),
    CatalogueEntry(
        "two_tool_calls",
        "`weather in A and B` and a `get_weather` tool offered",
        'one turn, two calls: get_weather({"city": A}), get_weather({"city": B})',
        "What is the weather in Paris and London?",
    ),
    CatalogueEntry(
        "tool_call",
        "`weather in A` and a `get_weather` tool offered",
        'one call: get_weather({"city": A})',
        "What is the weather in Paris?",
    ),
    CatalogueEntry(
        "greeting",
        "anything else",
        f"text: {GREETING!r}",
        "hi",
    ),
)
"""The scripts in selection order. ``delay:MS`` combines with any of them."""

_FAULT_ORDER: tuple[Fault, ...] = (
    Fault.SERVER_ERROR,
    Fault.RATE_LIMITED,
    Fault.CUT,
    Fault.MALFORMED,
    Fault.HANG,
)


def select_script(request: Mapping[str, Any]) -> Script:
    """The reply to a chat-completion request body; raises :class:`RequestError` if invalid."""
    messages = _validated_messages(request)
    offered_tools = _offered_tool_names(request)
    digest = _messages_digest(messages)
    completion_id = "chatcmpl-" + digest[:29]
    prompt_tokens = sum(_message_token_count(message) for message in messages)
    user_text = _last_user_text(messages)
    delay_ms = _delay_directive(user_text)

    def script(name: str, **fields: Any) -> Script:
        return Script(
            name=name,
            completion_id=completion_id,
            delay_ms=delay_ms,
            prompt_tokens=prompt_tokens,
            **fields,
        )

    if messages[-1]["role"] == "tool":
        results = [_content_text(message) for message in _trailing_tool_messages(messages)]
        answer = TOOL_RESULT_PREFIX + " ".join(results)
        return script("tool_result_answer", text_tokens=tokenize(answer))

    lowered = user_text.lower()
    for fault in _FAULT_ORDER:
        if f"fault:{fault.value}" in lowered:
            return script(f"fault_{fault.value}", text_tokens=tokenize(GREETING), fault=fault)

    long_match = _LONG_PATTERN.search(lowered)
    if long_match:
        return script("long", text_tokens=long_tokens(_bounded_long_count(long_match.group(1))))

    if WEATHER_TOOL in offered_tools:
        two_cities = _TWO_CITIES_PATTERN.search(user_text)
        if two_cities:
            cities = two_cities.groups()
            calls = tuple(_weather_call(digest, index, city) for index, city in enumerate(cities))
            return script("two_tool_calls", tool_calls=calls)
        one_city = _ONE_CITY_PATTERN.search(user_text)
        if one_city:
            return script("tool_call", tool_calls=(_weather_call(digest, 0, one_city.group(1)),))

    return script("greeting", text_tokens=tokenize(GREETING))


def tokenize(text: str) -> tuple[str, ...]:
    """Split text into streaming tokens whose concatenation is exactly ``text``."""
    return tuple(_TOKEN_PATTERN.findall(text))


def long_tokens(count: int) -> tuple[str, ...]:
    """``count`` tokens of lorem ipsum, each but the first starting with a space."""
    return tuple(
        ("" if index == 0 else " ") + _LONG_WORDS[index % len(_LONG_WORDS)]
        for index in range(count)
    )


def tool_call_id(messages_digest: str, index: int) -> str:
    """``call_`` + a hash of the request messages and the call's index in the turn."""
    return "call_" + hashlib.sha256(f"{messages_digest}:{index}".encode()).hexdigest()[:24]


def _weather_call(messages_digest: str, index: int, city: str) -> ToolCall:
    arguments = orjson.dumps({"city": city}).decode()
    return ToolCall(id=tool_call_id(messages_digest, index), name=WEATHER_TOOL, arguments=arguments)


def _validated_messages(request: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    if not isinstance(request, Mapping):
        raise RequestError("the request body must be a JSON object")
    messages = request.get("messages")
    if messages is None:
        raise RequestError("'messages' is required", param="messages")
    if not isinstance(messages, list) or not messages:
        raise RequestError("'messages' must be a non-empty array", param="messages")
    for index, message in enumerate(messages):
        where = f"messages[{index}]"
        if not isinstance(message, Mapping):
            raise RequestError(f"{where} must be an object", param=where)
        if not isinstance(message.get("role"), str):
            raise RequestError(f"{where}.role must be a string", param=f"{where}.role")
        content = message.get("content")
        if content is not None and not isinstance(content, str | list):
            raise RequestError(
                f"{where}.content must be a string, an array of parts or null",
                param=f"{where}.content",
            )
    return messages


def _offered_tool_names(request: Mapping[str, Any]) -> frozenset[str]:
    tools = request.get("tools")
    if tools is None:
        return frozenset()
    if not isinstance(tools, list):
        raise RequestError("'tools' must be an array", param="tools")
    names: set[str] = set()
    for index, tool in enumerate(tools):
        function = tool.get("function") if isinstance(tool, Mapping) else None
        name = function.get("name") if isinstance(function, Mapping) else None
        if not isinstance(name, str):
            raise RequestError(
                f"tools[{index}] must be an object with function.name",
                param=f"tools[{index}]",
            )
        names.add(name)
    return frozenset(names)


def _messages_digest(messages: Sequence[Mapping[str, Any]]) -> str:
    canonical = orjson.dumps(list(messages), option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(canonical).hexdigest()


def _content_text(message: Mapping[str, Any]) -> str:
    """The text of a message: its string content, or its text parts joined."""
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            part["text"]
            for part in content
            if isinstance(part, Mapping)
            and part.get("type") == "text"
            and isinstance(part.get("text"), str)
        )
    return ""


def _last_user_text(messages: Sequence[Mapping[str, Any]]) -> str:
    for message in reversed(messages):
        if message["role"] == "user":
            return _content_text(message)
    return ""


def _trailing_tool_messages(messages: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    trailing: list[Mapping[str, Any]] = []
    for message in reversed(messages):
        if message["role"] != "tool":
            break
        trailing.append(message)
    trailing.reverse()
    return trailing


def _message_token_count(message: Mapping[str, Any]) -> int:
    """A stand-in for a tokenizer: one per message plus one per whitespace-separated word."""
    words = len(_content_text(message).split())
    tool_calls = message.get("tool_calls")
    for call in tool_calls if isinstance(tool_calls, list) else ():
        function = call.get("function") if isinstance(call, Mapping) else None
        if isinstance(function, Mapping):
            words += len(str(function.get("name", "")).split())
            words += len(str(function.get("arguments", "")).split())
    return 1 + words


def _delay_directive(text: str) -> int | None:
    match = _DELAY_PATTERN.search(text.lower())
    if match is None:
        return None
    delay_ms = int(match.group(1))
    if delay_ms > MAX_DELAY_MS:
        raise RequestError(f"delay:{delay_ms} is above the maximum of {MAX_DELAY_MS} ms")
    return delay_ms


def _bounded_long_count(digits: str) -> int:
    count = int(digits)
    if count > MAX_LONG_TOKENS:
        raise RequestError(f"long:{count} is above the maximum of {MAX_LONG_TOKENS} tokens")
    return count
