"""Before judging a target, make sure the model endpoint its graphs will call can answer.

A model endpoint that is down, refuses the key or does not serve the model the graphs ask for
makes every model-dependent scenario fail on the target's side of the report, although the
target did nothing wrong. So the check asks the endpoint first, as the graphs will: ``GET
/models`` (is it there, which models does it serve), then one tiny chat completion with the
model name the graphs will send. Any failure is a sentence that names the endpoint and what to
change, and the check exits 2 (the suite could not run) instead of charging the target.

The tiny completion, not the model list, decides: llama.cpp's server answers whatever model
name it is asked for, vLLM answers 404 for a name it does not serve (``--served-model-name``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

SCENARIO_GRAPHS_DEFAULT_MODEL = "gpt-4o-mini"
"""The model the scenario graphs ask for when the run names none
(``agent.model_endpoint.DEFAULT_MODEL_NAME``; not imported, so that the checker does not need
the agent's dependencies)."""

DEFAULT_TIMEOUT_SECONDS = 120.0
"""A CPU model may still be loading or busy with another request: be patient with it."""

_BODY_EXCERPT_CHARACTERS = 300

# The weather agent offers this tool on every call; vLLM refuses any request with tools unless
# it was started with --enable-auto-tool-choice and a --tool-call-parser, so the pre-flight
# offers one too (and the benchmark's direct calls to the fake LLM the same).
WEATHER_TOOL: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the current weather in a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}


class ModelEndpointUnavailable(Exception):
    """The model endpoint cannot serve the graphs; the message says why and what to do."""


@dataclass(frozen=True, slots=True)
class ModelEndpointStatus:
    """What the pre-flight learned: the models the endpoint lists and a note for the report
    (e.g. that it answered for a model it does not list)."""

    url: str
    model: str
    served_models: tuple[str, ...]
    note: str = ""


def _headers(api_key: str | None) -> dict[str, str]:
    return {"authorization": f"Bearer {api_key}"} if api_key else {}


def _excerpt(response: httpx.Response) -> str:
    text = " ".join(response.text.split())
    if len(text) > _BODY_EXCERPT_CHARACTERS:
        text = text[:_BODY_EXCERPT_CHARACTERS] + "..."
    return text or "(empty body)"


def _served_models(body: Any) -> tuple[str, ...]:
    if not isinstance(body, Mapping) or not isinstance(body.get("data"), list):
        return ()
    return tuple(
        str(entry["id"])
        for entry in body["data"]
        if isinstance(entry, Mapping) and isinstance(entry.get("id"), str)
    )


def _answered(response: httpx.Response) -> bool:
    try:
        body = response.json()
    except ValueError:
        return False
    return isinstance(body, Mapping) and isinstance(body.get("choices"), list)


def _refusal(url: str, what: str, response: httpx.Response, *, model: str, served: str) -> str:
    sentence = f"the model endpoint {url} answered {response.status_code} to {what}"
    if response.status_code in (401, 403):
        return f"{sentence}: it wants a valid key (pass --llm-api-key): {_excerpt(response)}"
    if response.status_code == 404 and what.startswith("a chat completion"):
        return (
            f"{sentence}: it does not serve model {model!r} ({served}); pass --llm-model with a "
            f"name it serves (vLLM: the name given to --served-model-name): {_excerpt(response)}"
        )
    if response.status_code == 400 and "tool" in response.text.lower():
        return (
            f"{sentence}: it refuses the tools the scenario graphs offer (vLLM: start it with "
            f"--enable-auto-tool-choice --tool-call-parser hermes): {_excerpt(response)}"
        )
    return f"{sentence}: {_excerpt(response)}"


async def check_model_endpoint(
    url: str,
    *,
    model: str,
    api_key: str | None = None,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
    transport: httpx.AsyncBaseTransport | None = None,
) -> ModelEndpointStatus:
    """Ask the endpoint at ``url`` (an OpenAI-compatible base URL ending in ``/v1``) for its
    models, then for a one-token completion by ``model`` offering the scenario graphs' tool. Raises
    ``ModelEndpointUnavailable`` with a sentence naming the endpoint when either fails."""
    base = url.rstrip("/")
    async with httpx.AsyncClient(
        timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
        headers=_headers(api_key),
        transport=transport,
    ) as http:
        try:
            listing = await http.get(base + "/models")
        except httpx.HTTPError as error:
            raise ModelEndpointUnavailable(
                f"the model endpoint {url} is unreachable ({type(error).__name__}: {error}); "
                "start the model server or pass --llm-url"
            ) from error
        if listing.status_code != 200:
            raise ModelEndpointUnavailable(
                _refusal(url, "GET /models", listing, model=model, served="")
            )
        try:
            served = _served_models(listing.json())
        except ValueError:
            served = ()
        served_text = "it lists " + ", ".join(served) if served else "it lists no model"
        try:
            answer = await http.post(
                base + "/chat/completions",
                json={
                    "model": model,
                    "messages": [{"role": "user", "content": "hi"}],
                    "tools": [WEATHER_TOOL],
                    "max_tokens": 1,
                    "stream": False,
                },
            )
        except httpx.HTTPError as error:
            raise ModelEndpointUnavailable(
                f"the model endpoint {url} did not answer a one-token chat completion by "
                f"model {model!r} ({type(error).__name__}: {error})"
            ) from error
        if answer.status_code != 200:
            raise ModelEndpointUnavailable(
                _refusal(
                    url,
                    f"a chat completion by model {model!r} offering a tool",
                    answer,
                    model=model,
                    served=served_text,
                )
            )
        if not _answered(answer):
            raise ModelEndpointUnavailable(
                f"the model endpoint {url} answered a chat completion by model {model!r} with "
                f"no choices: {_excerpt(answer)}"
            )
    note = ""
    if model not in served:
        note = (
            f"the model endpoint {url} answered for model {model!r} although {served_text} "
            "(llama.cpp's server and the fake LLM answer any name; vLLM answers 404)"
        )
    return ModelEndpointStatus(url=url, model=model, served_models=served, note=note)
