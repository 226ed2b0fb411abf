"""The suite against the ground truth: a live ``langgraph dev`` must be judged conformant.

Slow by nature (``langgraph dev`` starts in ~10 s and runs one run at a time, ~1 s to the
first event), so this module starts it once and checks a representative subset: one scenario
per area that clients depend on. The full catalogue is run by hand with
``conformance check --target <langgraph dev url>`` (see the note in the final report).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from conformance import check
from conformance.oracle import start_langgraph_dev
from conformance.report.results import ScenarioStatus
from conformance.scenarios import CATALOGUE

REPRESENTATIVE = (
    "stream_values_greeting",
    "stream_messages_tool_call",
    "stream_messages_tuple_tool_call",
    "stream_updates_tool_call",
    "stateless_runs_stream",
    "resumable_stream_rejoin",
    "interrupt_resume",
    "subgraphs_stream",
    "llm_failure_stream",
    "multitask_reject",
    "threads_crud",
    "error_unknown_thread",
    # The prebuilt ReAct agent's Send, cancel wait=1, deletion mid-run, the thread stream.
    "react_agent_tasks",
    "cancel_interrupt_wait",
    "cancel_rollback_wait",
    "thread_deleted_mid_run",
    "thread_stream",
)


@pytest.fixture(scope="module")
def langgraph_dev_url() -> Iterator[str]:
    server = start_langgraph_dev(check.DEFAULT_CONFIG)
    try:
        yield server.url
    finally:
        server.stop()


async def test_langgraph_dev_is_conformant(langgraph_dev_url: str, fake_llm_url: str) -> None:
    missing = [name for name in REPRESENTATIVE if name not in CATALOGUE]
    assert not missing, f"scenarios renamed? {missing}"
    result = await check.check_target(
        [CATALOGUE[name] for name in REPRESENTATIVE],
        check.Target(url=langgraph_dev_url, llm_url=fake_llm_url),
        concurrency=2,
    )
    problems = [
        f"{s.name}: {s.error or '; '.join(f'{f.rule} at {f.location()}: {f.message}' for f in s.failures)}"
        for s in result.scenarios
        if s.status is not ScenarioStatus.PASS
    ]
    assert not result.fatal_error, result.fatal_error
    assert problems == []
    assert result.exit_code == 0
    assert len(result.scenarios) == len(REPRESENTATIVE)
