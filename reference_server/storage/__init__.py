"""Storage backends of the reference server behind the one ``Storage`` protocol."""

from __future__ import annotations

from pathlib import Path

from reference_server.storage.base import Record, Storage, StoredEvent, owner_of


def open_storage(database_path: Path | None) -> Storage:
    """The SQLite storage for a path, or the in-memory one for None (not opened yet)."""
    if database_path is None:
        from reference_server.storage.memory import MemoryStorage

        return MemoryStorage()
    from reference_server.storage.sqlite import SqliteStorage

    return SqliteStorage(database_path)


__all__ = ["Record", "Storage", "StoredEvent", "open_storage", "owner_of"]
