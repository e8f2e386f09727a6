"""Durable keyed JSON document storage: the Store interface and its backends."""

from __future__ import annotations

from pathlib import Path

from storage.base import Doc, Store, StoreError, StoreInUse, Updater
from storage.keys import KeySource
from storage.memory_store import MemoryStore
from storage.tinydb_store import SCHEMA_VERSION, TinyDBStore


def store_for(data_dir: Path, database_url: str = "", *, schema: str = "escalation", shared: bool = False,
              keys: KeySource | None = None, key_dir: Path | None = None, existing: bool = False) -> Store:
    """The store a deployment uses, sealed (storage.sealed): PostgreSQL when `database_url` is given (shared by
    replicas; the data keys in the schema `<schema>_keys`), else the embedded TinyDB store in `data_dir` (`shared`: as
    a guest beside the process that owns it; the data keys in `key_dir`, by default the folder `<data_dir>-keys`
    beside it). `keys`: where the master keys come from (default: the development key in the key folder).
    `existing`: an operator's read, which refuses a database schema that is not there rather than make it."""
    from storage.sealed import SealedStore

    folder = key_dir or default_key_dir(data_dir)
    source = keys or KeySource()
    if source.development is None and not database_url:  # (replicas must share one key: never one made per process)
        source = KeySource(source.inline, source.file, folder / "master.key")
    if database_url:
        from storage.postgres_store import PostgresStore

        return SealedStore(PostgresStore(database_url, schema=schema, create=not existing),
                           PostgresStore(database_url, schema=f"{schema}_keys", pool_size=2), source,
                           make_keys=not existing)
    keystore: Store = TinyDBStore(folder, shared=shared)
    if existing and not (folder / "meta.json").exists():
        keystore = MemoryStore()  # (a folder written before sealing, read: no key folder is made for a read)
    return SealedStore(TinyDBStore(data_dir, shared=shared), keystore, source, make_keys=not existing)


def default_key_dir(data_dir: Path) -> Path:
    """Where the embedded store's data keys are kept by default: a folder beside the data folder, never in it (a copy
    of the data folder must not hold the keys that open it)."""
    data = Path(data_dir)
    return data.with_name(f"{data.name}-keys")


async def open_store(path: Path) -> TinyDBStore:
    """Open the default (TinyDB) store in `path`; close it with `await store.close()`."""
    store = TinyDBStore(path)
    await store.open()
    return store


__all__ = [
    "SCHEMA_VERSION",
    "Doc",
    "KeySource",
    "MemoryStore",
    "Store",
    "StoreError",
    "StoreInUse",
    "TinyDBStore",
    "Updater",
    "default_key_dir",
    "open_store",
    "store_for",
]
