"""Which broken server proves which rule: the table the proofs run and docs/rules.md shows.

Every rule of the catalogue has at least one fault here (``test_every_rule_has_a_proof``): a
rule nobody has seen fire against a broken server is a rule nobody knows works.
"""

from __future__ import annotations

from dataclasses import dataclass

from conformance.scenarios._build import MODEL_CONFIG, create_thread, run_body, stream_run
from conformance.scenarios.model import Scenario


@dataclass(frozen=True, slots=True)
class Proof:
    scenarios: tuple[str, ...]
    """Catalogue scenarios run through the broken server (or ``PACED_SCENARIO``'s name)."""
    rule: str
    """The rule that must name the fault (``replay.*``: the comparison with the recording)."""
    what: str
    """What the broken server does, in a few words."""
    step_timeout: float = 4.0
    """Bounds each step: a stream that never ends is given up on quickly."""


PACED_SCENARIO = Scenario(
    name="proof_paced_messages",
    description="A greeting streamed in messages-tuple mode by a fake LLM paced at 100 ms a chunk",
    capability="stream_messages",
    model_dependent=False,
    steps=(
        create_thread(),
        stream_run(
            "stream",
            run_body("weather_agent", "hi delay:100", stream_mode=["messages-tuple"]),
        ),
    ),
)
"""Not in the catalogue (it has no recording): the rules alone judge it, so it runs outside
``conformance check``. Token timing is only measurable with a paced model."""
assert MODEL_CONFIG  # the scenario's graph reaches the fake LLM through it

FAULT_CASES: dict[str, Proof] = {
    # --- framing ---
    "invalid_utf8": Proof(
        ("stream_values_greeting",),
        "framing.utf8",
        "a byte that is not UTF-8 inside an event's data",
    ),
    "unterminated_last_event": Proof(
        ("stream_values_greeting",),
        "framing.terminated",
        "the body ends cleanly inside a last event (no blank line)",
    ),
    "event_without_data": Proof(
        ("stream_values_greeting",),
        "framing.event-without-data",
        "a block with an event name and no data",
    ),
    "id_with_nul": Proof(
        ("stream_values_greeting",), "framing.id-without-nul", "an id: containing NUL"
    ),
    "bogus_retry": Proof(("stream_values_greeting",), "framing.retry-digits", "retry: soon"),
    # Silent past the 15 s keep-alive limit: the one slow proof (about 17 s).
    "silent_stream": Proof(
        ("stream_values_greeting",),
        "framing.keepalive",
        "no heartbeats, 16 s of silence before the last event",
        step_timeout=30.0,
    ),
    "data_not_json": Proof(
        ("stream_values_greeting",), "stream.data-json", "a values event whose data is not JSON"
    ),
    "end_event": Proof(
        ("stream_values_greeting",), "stream.end-event", "an end event after the last one"
    ),
    # --- headers ---
    "wrong_content_type": Proof(
        ("stream_values_greeting",), "headers.content-type", "Content-Type text/plain"
    ),
    "drop_cache_control": Proof(
        ("stream_values_greeting",), "headers.cache-control", "no Cache-Control"
    ),
    "drop_accel_buffering": Proof(
        ("stream_values_greeting",), "headers.x-accel-buffering", "no X-Accel-Buffering"
    ),
    "drop_location": Proof(("stream_values_greeting",), "headers.location", "no Location"),
    "drop_content_location": Proof(
        ("stream_values_greeting",), "headers.content-location", "no Content-Location"
    ),
    # --- lifecycle ---
    "drop_metadata": Proof(
        ("stream_values_greeting",), "stream.metadata-first", "no metadata event"
    ),
    "null_run_id": Proof(
        ("stream_values_greeting",), "stream.metadata-first", "metadata with run_id null"
    ),
    "cut_mid_stream": Proof(
        ("stream_values_greeting",),
        "stream.intact",
        "the connection dropped after two events (chunked body cut short)",
    ),
    # Heartbeats forever: the client gives up on a stream that never ends.
    "rejoin_heartbeats_only": Proof(
        ("resumable_background_join_stream",),
        "stream.ends",
        "a rejoin answered with heartbeats forever",
    ),
    "attempt_zero": Proof(
        ("stream_values_greeting",), "stream.metadata-attempt", "metadata with attempt 0"
    ),
    "event_after_error": Proof(
        ("llm_failure_stream",),
        "stream.nothing-after-error",
        "a values event after the error event",
    ),
    "reshape_error": Proof(
        ("llm_failure_stream",), "stream.error-payload", 'error events as {"detail"}'
    ),
    # --- modes ---
    "extra_mode": Proof(
        ("stream_values_greeting",), "modes.requested-only", "an event of a mode nobody asked for"
    ),
    "namespace_without_subgraphs": Proof(
        ("stream_values_greeting",),
        "modes.namespaced-only-with-subgraphs",
        "values|agent:1 without stream_subgraphs",
    ),
    "swap_modes": Proof(
        ("stream_mode_list_greeting",), "replay.event-order", "values and updates events swap names"
    ),
    # --- messages ---
    "drop_messages_metadata": Proof(
        ("stream_messages_greeting",),
        "messages.metadata-before-partial",
        "messages/partial without its messages/metadata",
    ),
    "tuple_not_pair": Proof(
        ("stream_messages_tuple_greeting",),
        "messages.tuple-shape",
        "messages-tuple data is the chunk alone",
    ),
    "drop_tuple_ids": Proof(
        ("stream_messages_tuple_greeting",), "messages.tuple-id", "messages-tuple chunks without id"
    ),
    "null_tuple_ids": Proof(
        ("stream_messages_tuple_greeting",),
        "messages.tuple-id",
        "messages-tuple chunks with id null",
    ),
    "one_event_per_message": Proof(
        ("stream_messages_greeting",),
        "messages.token-events",
        "one messages/partial per message instead of per token",
    ),
    "buffered_stream": Proof(
        (PACED_SCENARIO.name,),
        "stream.incremental",
        "the whole stream held back and sent when the run ends",
    ),
    # --- resumable ---
    "event_ids_decreasing": Proof(
        ("resumable_background_join_stream",), "resumable.event-ids", "event ids that go backwards"
    ),
    "event_ids_repeated": Proof(
        ("resumable_background_join_stream",),
        "resumable.event-ids-increasing",
        "every event id the same",
    ),
    "ignore_last_event_id": Proof(
        ("resumable_stream_rejoin",),
        "resumable.replay-after-last-event-id",
        "Last-Event-ID ignored: every rejoin replays from the start",
    ),
    # --- runs ---
    "run_still_running": Proof(
        ("stream_values_greeting",),
        "runs.terminal-on-close",
        "a run that reads running after its stream closed",
    ),
    "success_after_error": Proof(
        ("llm_failure_stream",),
        "runs.status-after-error",
        "a run that reads success after an error event",
    ),
    "enqueue_runs_concurrently": Proof(
        ("multitask_enqueue",),
        "replay.status",
        "multitask enqueue runs the second run at once, beside the first",
    ),
    # --- cross-origin ---
    "preflight_refused": Proof(
        ("cors_browser_page",),
        "cors.preflight",
        "CORS preflights answered 405 without Access-Control-* headers",
    ),
    "drop_allow_origin": Proof(
        ("cors_browser_page",),
        "cors.allow-origin",
        "answers to a page on another origin without Access-Control-Allow-Origin",
    ),
    "drop_expose_headers": Proof(
        ("cors_browser_page",),
        "cors.expose-headers",
        "Content-Location not exposed to a page on another origin",
    ),
}
"""fault (``fault_proxy.FAULTS``) -> what it runs and the rule that must catch it."""

LEGAL_VARIATIONS = (
    "lf_line_endings",
    "cr_line_endings",
    "heartbeats",
    "split_writes",
    "packed_writes",
    "extra_comments",
    "json_reformatted",
    "end_event",
)
"""What the SSE spec and the SDKs allow: each must change nothing the suite says (an end event
aside, which is a warning)."""

RULE_LEGAL_VARIATIONS = ("no_charset", "dashless_ids", "extra_keys")
"""Legal too: no rule may fire on them, and the replay comparison passes them (a missing
charset and keys langgraph dev does not send are warnings at most; ids are opaque)."""


@dataclass(frozen=True, slots=True)
class RelaxationProof:
    accepted: str
    """What the comparison accepts as the server's choice (a third-party server showed it)."""
    still_caught: str
    """The breakage of the same kind that still fails."""
    test: str
    """``module::test`` (under tests/conformance/) that shows both."""


RELAXATION_PROOFS: dict[str, RelaxationProof] = {
    "mapped graph without the recorded behaviour": RelaxationProof(
        "under --graph, a scenario whose recording shows custom events or an interrupt that "
        "the mapped graph never produces is NOT TESTED (blocks its level), its comparison "
        "findings listed, not counted",
        "unmapped, the same missing custom events FAIL; a broken stream still fails the "
        "mapped scenario",
        "test_mapped_behaviour.py::test_a_target_without_custom_events_fails_unmapped, "
        "test_a_broken_stream_still_fails_a_mapped_graph_without_the_behaviour",
    ),
    "store search order": RelaxationProof(
        "a search without a query lists the same items in another order (SHOULD)",
        "a lost item, another key, another value (MUST); with a query the order counts",
        "test_compare.py::test_store_search_items_are_paired_by_key_not_by_position, "
        "test_store_search_with_a_query_keeps_its_order, "
        "test_store_items_whose_namespace_differs_are_still_paired_by_key",
    ),
    "run error texts": RelaxationProof(
        "another exception class name or message in an error event or a failed run's output",
        "no message, no error event, no __error__ (MUST)",
        "test_compare.py::test_a_run_error_text_is_the_servers_but_its_shape_is_compared",
    ),
    "default description": RelaxationProof(
        "a server-made assistant's description null or a string",
        "a description of another type, or one the client set (MUST)",
        "test_compare.py::test_a_default_description_may_be_null_or_a_string, "
        "test_a_null_default_name_stays_a_must",
    ),
    "early message id": RelaxationProof(
        "a message id where langgraph dev sends null (a tool message in updates; SHOULD)",
        "null where langgraph dev sends an id (MUST)",
        "test_compare.py::test_a_message_id_before_langgraph_dev_names_one_is_a_should_and_null"
        "_stays_a_must",
    ),
    "stateless run location with a thread": RelaxationProof(
        "Location /threads/{thread}/runs/{run}/stream where langgraph dev sends "
        "/runs/{run}/stream (SHOULD)",
        "another run, another path (MUST)",
        "test_compare.py::test_a_stateless_run_location_with_a_thread_in_front_is_a_should",
    ),
    "server-written metadata": RelaxationProof(
        "keys the API server writes into a checkpoint's metadata and config and into a "
        "message chunk's run metadata, missing or other (SHOULD)",
        "the checkpoint id, a step of another value, the run that wrote the state, "
        "langgraph's own run metadata (MUST)",
        "test_compare.py::test_server_written_keys_of_checkpoints_and_message_metadata_are"
        "_shoulds, test_the_run_that_wrote_a_state_stays_a_must",
    ),
    "a deleted run's stream": RelaxationProof(
        "the stream of a run the scenario rolls back ends with one last error event, or "
        "without (langgraph dev does either, by a race: fixtures/thread_deleted_mid_run.json "
        "shows its error)",
        "an error followed by more events, two errors, an error on a stream whose run stays (MUST)",
        "test_compare.py::test_a_stream_whose_run_is_deleted_may_end_with_an_error_or_not",
    ),
}
"""The comparison's acceptances of a server's legitimate choices, each with the test that
shows a breakage of the same kind still fails (docs/rules.md lists them)."""


def proofs_of(rule_id: str) -> list[str]:
    """The faults that prove a rule, in table order."""
    return [fault for fault, proof in FAULT_CASES.items() if proof.rule == rule_id]
