"""The JSON body each route takes, by endpoint, so ``/openapi.json`` describes it (and a fuzzer
can aim at it). The models are the ones the routes validate with, so the description cannot
drift from what is accepted."""

from __future__ import annotations

from pydantic import BaseModel

from reference_server.routes import assistants, runs, store, threads

REQUEST_BODIES: dict[str, type[BaseModel]] = {
    "assistants.create_assistant": assistants.AssistantCreate,
    "assistants.search_assistants": assistants.AssistantSearch,
    "assistants.count_assistants": assistants.AssistantCount,
    "assistants.patch_assistant": assistants.AssistantPatch,
    "assistants.list_versions": assistants.VersionSearch,
    "assistants.set_latest_version": assistants.SetLatest,
    "runs.create_run": runs.RunCreate,
    "runs.stream_run": runs.RunCreate,
    "runs.wait_run": runs.RunCreate,
    "runs.create_stateless_run": runs.StatelessRunCreate,
    "runs.stream_stateless_run": runs.StatelessRunCreate,
    "runs.wait_stateless_run": runs.StatelessRunCreate,
    "runs.cancel_many": runs.CancelManyBody,
    "store.put_item": store.ItemPut,
    "store.delete_item": store.ItemDelete,
    "store.search_items": store.ItemSearch,
    "store.list_namespaces": store.NamespaceSearch,
    "threads.create_thread": threads.ThreadCreate,
    "threads.search_threads": threads.ThreadSearch,
    "threads.count_threads": threads.ThreadCount,
    "threads.patch_thread": threads.ThreadPatch,
    "threads.post_state_at_checkpoint": threads.StateAtCheckpoint,
    "threads.update_state": threads.StateUpdate,
    "threads.post_history": threads.HistorySearch,
}
