"""The client contract table: it covers the SDK's types, cites a source per entry, and turns
into severities (a key only langgraph dev sends is a SHOULD)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import langgraph_sdk.schema as sdk
import pytest

from conformance import contract
from conformance.findings import Severity

PY_TYPES = [
    (contract.THREAD, sdk.Thread),
    (contract.RUN, sdk.Run),
    (contract.ASSISTANT, sdk.Assistant),
    (contract.THREAD_STATE, sdk.ThreadState),
    (contract.THREAD_TASK, sdk.ThreadTask),
    (contract.CHECKPOINT, sdk.Checkpoint),
    (contract.INTERRUPT, sdk.Interrupt),
    (contract.GRAPH_SCHEMA, sdk.GraphSchema),
    (contract.CHECKPOINT_PAYLOAD, sdk.CheckpointPayload),
    (contract.RUN_METADATA, sdk.RunMetadataPayload),
]


@pytest.mark.parametrize(("shape", "typed_dict"), PY_TYPES, ids=lambda v: getattr(v, "name", ""))
def test_every_key_the_python_sdk_declares_is_in_the_contract(
    shape: contract.Shape, typed_dict: type
) -> None:
    declared = set(typed_dict.__required_keys__) | set(typed_dict.__optional_keys__)
    assert declared - set(shape.keys) == set()


def test_item_covers_the_python_sdk() -> None:
    declared = set(sdk.SearchItem.__required_keys__) | set(sdk.SearchItem.__optional_keys__)
    assert declared - set(contract.ITEM.keys) == set()


def test_every_entry_cites_an_sdk_source_that_exists() -> None:
    sources = contract.sources()
    assert sources
    package = Path(importlib.util.find_spec("langgraph_sdk").origin).parent  # type: ignore[arg-type, union-attr]
    for source in sources:
        cited = [part for part in source.replace(";", " ").split() if part.startswith("py:")]
        for citation in cited:
            relative = citation.removeprefix("py:langgraph_sdk/")
            assert (package / relative).is_file(), source
        assert cited or "js:dist/" in source or "langgraph dev only" in source, source


@pytest.mark.parametrize(
    ("schema", "pointer", "severity"),
    [
        # Run.kwargs is in no SDK type: anything under it is langgraph dev's own
        (contract.RUN, "/kwargs/checkpoint_during", Severity.SHOULD),
        (contract.RUN, "/status", Severity.MUST),
        # declared by the JS SDK's Thread
        (contract.THREAD, "/state_updated_at", Severity.MUST),
        (contract.THREAD, "/values/messages/0/content", Severity.MUST),
        # state keys are the graph's: content
        (contract.THREAD, "/values/anything", Severity.MUST),
        (contract.MESSAGE, "/lc_extra", Severity.SHOULD),
        (contract.ERROR_BODY, "/detail", Severity.MUST),
    ],
)
def test_severity_at(schema: contract.Schema, pointer: str, severity: Severity) -> None:
    assert contract.severity_at(schema, pointer) is severity


def test_missing_key_severity() -> None:
    assert contract.missing_key_severity(contract.RUN, "", "run_id") is Severity.MUST
    assert contract.missing_key_severity(contract.RUN, "", "kwargs") is Severity.SHOULD
    # declared optional: a client copes without it
    assert contract.missing_key_severity(contract.RUN, "", "cancel_reason") is Severity.SHOULD
    # a key of the graph's state is content
    assert contract.missing_key_severity(contract.THREAD, "/values", "notes") is Severity.MUST
    assert contract.missing_key_severity(contract.THREAD, "/kwargs", "x") is Severity.SHOULD


def test_routes_and_events() -> None:
    assert contract.route_schema("GET", "/threads/<uuid:1>", 200) is contract.THREAD
    assert contract.route_schema("GET", "/threads/<id:1>/runs/<id:2>", 200) is contract.RUN
    assert contract.route_schema("GET", "/threads/<uuid:1>", 404) is contract.ERROR_BODY
    assert contract.route_schema("POST", "/threads/<uuid:1>/runs/wait", 200) is contract.CONTENT
    assert contract.event_schema("metadata") is contract.RUN_METADATA
    assert contract.event_schema("updates|research:<uuid:3>") == contract.EVENTS["updates"]


def test_headers_clients_read_are_must_and_the_charset_is_not() -> None:
    for name in ("content-type", "location", "content-location", "x-pagination-next"):
        assert contract.HEADERS[name].severity is Severity.MUST
    for name in ("cache-control", "x-accel-buffering", "x-pagination-total"):
        assert contract.HEADERS[name].severity is Severity.SHOULD
    assert contract.HEADERS["content-type"].parameters_matter is False


def test_keys_the_server_writes_into_metadata_are_should_what_the_client_stored_must() -> None:
    thread = contract.route_schema("GET", "/threads/<uuid:1>", 200)
    assert contract.severity_at(thread, "/metadata/langgraph_api_version") is Severity.SHOULD
    assert contract.severity_at(thread, "/metadata/graph_id") is Severity.SHOULD
    assert contract.severity_at(thread, "/metadata/purpose") is Severity.MUST
    assert contract.missing_key_severity(thread, "/metadata", "user_id") is Severity.SHOULD
    assert contract.missing_key_severity(thread, "/metadata", "purpose") is Severity.MUST
    events = contract.event_schema("messages/metadata")
    assert contract.severity_at(events, "/m1/metadata/langgraph_host") is Severity.SHOULD
    assert contract.severity_at(events, "/m1/metadata/langgraph_node") is Severity.MUST
    config = contract.route_schema("GET", "/assistants/<uuid:1>", 200)
    assert contract.severity_at(config, "/config/configurable/assistant_id") is Severity.SHOULD
    assert contract.severity_at(config, "/config/configurable/model_name") is Severity.MUST
