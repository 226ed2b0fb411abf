"""Storage backends of the reference server behind the one ``Storage`` protocol."""

from __future__ import annotations

from pathlib import Path

from reference_server.settings import is_postgres_url
from reference_server.storage.base import Record, Storage, StoredEvent, owner_of


def open_storage(database: Path | str | None) -> Storage:
    """The storage (not opened yet) for a ``postgresql://`` URL, a SQLite path, or None (in
    memory)."""
    if database is None:
        from reference_server.storage.memory import MemoryStorage

        return MemoryStorage()
    if isinstance(database, str) and is_postgres_url(database):
        # Imported only here: the embedded default needs no Postgres driver.
        from reference_server.storage.postgres import PostgresStorage

        return PostgresStorage(database)
    from reference_server.storage.sqlite import SqliteStorage

    return SqliteStorage(Path(database))


__all__ = ["Record", "Storage", "StoredEvent", "open_storage", "owner_of"]
