"""Durable keyed JSON document storage: the Store interface and its backends."""

from __future__ import annotations

from pathlib import Path

from storage.base import Doc, Store, StoreError, StoreInUse, Updater
from storage.memory_store import MemoryStore
from storage.tinydb_store import SCHEMA_VERSION, TinyDBStore


def store_for(data_dir: Path, database_url: str = "", *, schema: str = "escalation", shared: bool = False) -> Store:
    """The store a deployment uses: PostgreSQL when `database_url` is given (shared by replicas), else the embedded
    TinyDB store in `data_dir` (`shared`: as a guest beside the process that owns it)."""
    if database_url:
        from storage.postgres_store import PostgresStore

        return PostgresStore(database_url, schema=schema)
    return TinyDBStore(data_dir, shared=shared)


async def open_store(path: Path) -> TinyDBStore:
    """Open the default (TinyDB) store in `path`; close it with `await store.close()`."""
    store = TinyDBStore(path)
    await store.open()
    return store


__all__ = [
    "SCHEMA_VERSION",
    "Doc",
    "MemoryStore",
    "Store",
    "StoreError",
    "StoreInUse",
    "TinyDBStore",
    "Updater",
    "open_store",
    "store_for",
]
