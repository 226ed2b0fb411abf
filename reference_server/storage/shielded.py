"""Checkpoint writes that finish even when their caller is cancelled, mixed into the Postgres
backend's LangGraph checkpointer (its store shields its batches likewise).

A run being cancelled must keep the checkpoints it reached; and cut between its INSERT and its
COMMIT, a library write would leave its pooled connection inside an open transaction. SQLite's
writes need none of this: they hold no ``await`` (``sqlite.py``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    BaseCheckpointSaver,
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
)


class ShieldedCheckpointWrites(BaseCheckpointSaver[str]):
    """Put before a saver class in the bases: its writes run shielded."""

    async def aput(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        return await asyncio.shield(super().aput(config, checkpoint, metadata, new_versions))

    async def aput_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        await asyncio.shield(super().aput_writes(config, writes, task_id, task_path))

    async def adelete_thread(self, thread_id: str) -> None:
        await asyncio.shield(super().adelete_thread(thread_id))
