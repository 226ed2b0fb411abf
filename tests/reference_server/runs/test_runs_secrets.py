"""Secrets given to a run never come back: not in any streamed payload, not in the run record.

``langgraph dev`` echoes ``custom_api_key`` inside ``messages/metadata``; the reference server
does not (a deliberate difference, see the README).
"""

from __future__ import annotations

import httpx

from conformance.sse.parser import parse_stream

API_KEY = "sk-test-SECRET-4242"
PROVIDER_KEY = "sk-provider-SECRET-77"
USER_TOKEN = "supabase-SECRET-token-99"
EVERY_MODE = [
    "values",
    "updates",
    "messages",
    "messages-tuple",
    "events",
    "debug",
    "custom",
    "tasks",
    "checkpoints",
]


async def test_no_secret_in_any_stream_mode_nor_in_the_run(
    client: httpx.AsyncClient, fake_llm_url: str
) -> None:
    thread = (await client.post("/threads", json={})).json()
    response = await client.post(
        f"/threads/{thread['thread_id']}/runs/stream",
        headers={"x-supabase-access-token": USER_TOKEN},
        json={
            "assistant_id": "agent",
            "input": {"messages": [{"role": "user", "content": "hi"}]},
            "config": {
                "configurable": {
                    "base_url": fake_llm_url,
                    "custom_api_key": API_KEY,
                    "apiKeys": {"OPENAI_API_KEY": PROVIDER_KEY},
                }
            },
            "stream_mode": EVERY_MODE,
        },
    )
    assert response.status_code == 200
    events = parse_stream(response.content).events
    names = {event.event for event in events}
    # The run really streamed the model's answer: a check on an empty stream proves nothing.
    assert {"metadata", "messages", "events", "debug", "checkpoints", "tasks"} <= names
    assert "Hello! How can I help you today?" in response.text
    run_id = response.headers["content-location"].rsplit("/", 1)[-1]

    run = await client.get(f"/threads/{thread['thread_id']}/runs/{run_id}")
    state = await client.get(f"/threads/{thread['thread_id']}/state")
    history = await client.post(f"/threads/{thread['thread_id']}/history", json={})
    for secret in (API_KEY, PROVIDER_KEY, USER_TOKEN):
        assert secret not in response.text
        assert secret not in run.text
        assert secret not in state.text
        assert secret not in history.text
