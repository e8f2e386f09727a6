"""Durable keyed JSON document storage: the Store interface and its backends."""

from __future__ import annotations

from pathlib import Path

from storage.base import Doc, Store, StoreError, StoreInUse, Updater
from storage.memory_store import MemoryStore
from storage.tinydb_store import SCHEMA_VERSION, TinyDBStore


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
]
