"""check-config's look at the store: the data folder and its data keys' folder, or the PostgreSQL schemas, and
whether the master keys open the data keys stored there; read only, and the line each check prints."""

from __future__ import annotations

import json
import os
import pwd
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from bot.config import Settings
from storage.keys import KeyringError, KeySource

EMBEDDED = "embedded store"


@dataclass(frozen=True)
class Line:
    status: Literal["ok", "FAIL", "skipped"]
    name: str
    text: str

    def __str__(self) -> str:
        return f"{self.status:<8} {self.name}: {self.text}"


@dataclass(frozen=True)
class Seen:
    """What a store check saw: its line, and whether the master keys open the data keys stored there (`keys`: what
    they open, or `keys_problem`: why not)."""

    line: Line
    keys: str = ""
    keys_problem: str = ""


async def keys_verdict(keystore: Any, source: KeySource) -> tuple[str, str]:
    """Whether the master keys open the data keys recorded in `keystore` (an open Store): (what they open, "") or
    ("", why not). Storage.sealed's own check, the one the bot makes when it opens its store."""
    from storage.memory_store import MemoryStore
    from storage.sealed import DATA_KEYS, KEYRING_DOC, SealedStore

    sealed = SealedStore(MemoryStore(), keystore, source, make_keys=False)
    try:
        await sealed.check_keys()
    except KeyringError as exc:
        return "", str(exc)
    ids = list((await keystore.get(DATA_KEYS, KEYRING_DOC) or {}).get("ids", []))
    return (f"opens the data keys stored (wrapped under {', '.join(ids)})" if ids else ""), ""


def key_folder(settings: Settings, data_dir: Path) -> Path:
    """Where the embedded store's data keys are (BOT_KEY_DIR, else beside the data folder)."""
    from storage import default_key_dir

    return settings.key_dir or default_key_dir(data_dir)


def _cases(count: int) -> str:
    return f"{count} case{'s' if count != 1 else ''}"


def user() -> str:
    try:
        return pwd.getpwuid(os.geteuid()).pw_name
    except KeyError:
        return str(os.geteuid())


def writable(folder: Path) -> bool:
    return os.access(folder, os.W_OK | os.X_OK)


async def embedded(settings: Settings, data_dir: Path, source: KeySource) -> Seen:
    """The data folder and its data keys' folder, opened as a guest (nothing locked, made or cleaned)."""
    from storage.base import StoreError

    keys_dir = key_folder(settings, data_dir)
    early = folders(data_dir, keys_dir)
    if early is not None:
        return early
    try:
        return await _opened(data_dir, keys_dir, source)
    except StoreError as exc:  # (a folder newer than this bot, a record that cannot be read, ...)
        return Seen(Line("FAIL", EMBEDDED, str(exc)))


def folders(data_dir: Path, keys_dir: Path) -> Seen | None:
    """The line for a data folder not made yet or not usable, or None for one to open."""
    if not data_dir.exists():
        parent = next(p for p in data_dir.absolute().parents if p.exists())
        if not writable(parent):
            return Seen(Line("FAIL", EMBEDDED, f"{data_dir} is not made yet, and {user()} cannot make it ({parent} is "
                             "not writable): make it for the service's user, or set BOT_DATA_DIR"))
        return Seen(Line("ok", EMBEDDED, f"{data_dir} not made yet: made on the first start"))
    if not data_dir.is_dir() or not writable(data_dir):
        return Seen(Line("FAIL", EMBEDDED, f"{data_dir} is not a folder {user()} can write: run the check as the "
                         "service's user, and set BOT_DATA_DIR to the data folder"))
    if not (data_dir / "meta.json").exists():
        if any(data_dir.iterdir()):
            return Seen(Line("FAIL", EMBEDDED, f"{data_dir} holds files but no meta.json, so it is not a data folder "
                             "of the bot: check BOT_DATA_DIR"))
        return Seen(Line("ok", EMBEDDED, f"{data_dir} (empty: the store is made there on the first start)"))
    if keys_dir.exists() and not (keys_dir.is_dir() and writable(keys_dir)):
        return Seen(Line("FAIL", EMBEDDED, f"the data keys' folder {keys_dir} is not a folder {user()} can write: "
                         "check BOT_KEY_DIR"))
    return None


async def _opened(data_dir: Path, keys_dir: Path, source: KeySource) -> Seen:
    """What the data folder holds and whether the master keys open its data keys, both folders opened as a guest."""
    from storage.collections import CASES, META
    from storage.sealed import DATA_KEYS, KEYRING_DOC, SEALED_ONCE
    from storage.tinydb_store import TinyDBStore

    async with TinyDBStore(data_dir, shared=True) as data:  # (meta.json read: a newer folder is refused, saying so)
        cases = len(await data.keys(CASES))
        sealed = await data.get(META, SEALED_ONCE) is not None
    folder = f"{data_dir} (schema version {_folder_version(data_dir)}, {_cases(cases)})"
    if not (keys_dir / "meta.json").exists():
        if sealed:
            return Seen(Line("FAIL", EMBEDDED, f"{folder} is sealed, but its data keys are not in {keys_dir}: "
                             "restore that folder from its back-up, or set BOT_KEY_DIR to where it is"))
        return Seen(Line("ok", EMBEDDED, f"{folder}; data keys: none yet, made in {keys_dir} when first needed"))
    async with TinyDBStore(keys_dir, shared=True) as keystore:
        opens, problem = await keys_verdict(keystore, source)
        count = sum(1 for key in await keystore.keys(DATA_KEYS) if key != KEYRING_DOC and not key.startswith(
            "check:"))
    return Seen(Line("ok", EMBEDDED, f"{folder}; data keys in {keys_dir} ({count})"), opens, problem)


def _folder_version(data_dir: Path) -> str:
    try:
        return str(json.loads((data_dir / "meta.json").read_bytes())["schema_version"])
    except (OSError, ValueError, KeyError, TypeError):
        return "unknown"


async def database(settings: Settings, source: KeySource) -> Seen:
    """The PostgreSQL schemas, only read (storage.postgres_look)."""
    from storage.base import StoreError
    from storage.memory_store import MemoryStore
    from storage.postgres_look import NEWEST, look
    from storage.postgres_store import redacted
    from storage.sealed import DATA_KEYS

    schema, name = settings.database_schema, "database"
    where = f"{redacted(settings.database_url)}, schema {schema}"

    def failed(text: str) -> Seen:
        return Seen(Line("FAIL", name, f"{where}: {text}"))

    try:
        found = await look(settings.database_url, schema)
    except StoreError as exc:
        return Seen(Line("FAIL", name, f"{exc} (check BOT_DATABASE_URL, and that the database accepts this host)"))
    if not found.schema_exists:
        if found.keys_exist:
            return failed(f"missing, yet its data keys' schema {schema}_keys is there: check BOT_DATABASE_SCHEMA")
        if not found.can_write:
            return failed("not made yet, and this database user may not make it: grant it CREATE on the database")
        return Seen(Line("ok", name, f"{where} not made yet: made on the first start (if this deployment has stored "
                                     "cases before, BOT_DATABASE_SCHEMA is wrong)"))
    if found.version == 0:
        return failed("not one of the bot's schemas (no schema_migrations table): check BOT_DATABASE_SCHEMA")
    if found.version > NEWEST:
        return failed(f"schema version {found.version} is newer than this version of the bot knows ({NEWEST}): "
                      "install the newer version")
    if not found.can_write:
        return failed("this database user may not write the bot's tables: grant it SELECT, INSERT, UPDATE and DELETE")
    if found.sealed and not found.keys_exist:
        return failed(f"the data is sealed, but its data keys' schema {schema}_keys is missing: restore it from its "
                      "back-up")
    upgrade = f", migrated to {NEWEST} at the first start" if found.version < NEWEST else ""
    text = f"{where} (schema version {found.version}{upgrade}, {_cases(found.cases)}); data keys in {schema}_keys " \
           f"({found.data_keys})"
    records = MemoryStore()
    await records.open()
    for key, doc in found.key_records.items():
        await records.put(DATA_KEYS, key, doc)
    opens, problem = await keys_verdict(records, source)
    return Seen(Line("ok", name, text), opens, problem)


