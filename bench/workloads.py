"""What the benchmark asks for: the prompts (from the fake LLM's script catalogue) and how many
tokens a correct answer must stream."""

from __future__ import annotations

import math
from dataclasses import dataclass

GREETING_PROMPT = "hi"
TOOL_PROMPT = "What is the weather in Paris?"
GREETING_TOKENS = 1
"""At least one token event; the greeting's exact tokenisation is the fake LLM's business."""


@dataclass(frozen=True, slots=True)
class Workload:
    name: str
    prompt: str
    min_tokens: int
    """A run that streams fewer token events than this did not answer: it counts as failed."""
    uses_tool: bool = False


GREETING = Workload("greeting", GREETING_PROMPT, GREETING_TOKENS)
TOOL_ROUND_TRIP = Workload("tool round trip", TOOL_PROMPT, 1, uses_tool=True)


def long_answer(tokens: int) -> Workload:
    """A text answer of exactly ``tokens`` tokens (the fake LLM's ``long:N``)."""
    if tokens < 1:
        raise ValueError(f"a long answer needs at least 1 token, got {tokens}")
    return Workload(f"long answer ({tokens} tokens)", f"long:{tokens}", tokens)


def slow_stream(hold_seconds: float, token_delay_ms: int) -> Workload:
    """A reply paced so slowly that the stream stays open at least ``hold_seconds``: the fake
    LLM waits ``token_delay_ms`` before each token of a ``long:N`` answer."""
    if token_delay_ms < 1:
        raise ValueError(
            f"a slow stream needs a token delay of at least 1 ms, got {token_delay_ms}"
        )
    tokens = max(2, math.ceil(hold_seconds * 1000 / token_delay_ms) + 2)
    return Workload("slow stream", f"long:{tokens} delay:{token_delay_ms}", 0)
