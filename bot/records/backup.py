"""Backup and restore of the embedded store, audited: `make_backup` (by the process that owns the store: an operator's
command while the bot is stopped, or the running bot itself) and `restore` (into empty folders, checked whole before it
is put in place). The archive itself is storage.backup's and storage.unpack's."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from datetime import datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from bot.cases.trail import HEAD, log_event
from bot.records.verify import Verdict, verify
from storage.backup import DATA, KEYS, SUFFIXES, BackupError, write_archive
from storage.base import Store
from storage.collections import AUDIT_LOG, CASES, META
from storage.keys import KeyringError, KeySource
from storage.memory_store import MemoryStore
from storage.sealed import DATA_KEYS, KEYRING_DOC, SealedStore
from storage.tinydb_store import TinyDBStore
from storage.unpack import Unpacked, unpack

PG_DUMP = ("on PostgreSQL (BOT_DATABASE_URL) back up and restore with PostgreSQL's own tools: pg_dump and pg_restore "
           "of the schema and of <schema>_keys, as the README's \"Backup and restore\" says")
KEEP_APART = "keep the master key apart: the backup cannot be read without it"


@dataclass(frozen=True)
class BackupReport:
    """A backup made: the archive, its size, its manifest, and the key of its own audit-log entry (inside it)."""

    path: Path
    size: int
    manifest: dict[str, Any]
    entry: str

    @property
    def cases(self) -> int:
        return int(self.manifest["counts"][DATA].get(CASES, 0))

    @property
    def audit_entries(self) -> int:
        return int(self.manifest["counts"][DATA].get(AUDIT_LOG, 0))

    @property
    def head(self) -> int | None:
        head = self.manifest.get("audit_head")
        return None if head is None else int(head.get("seq", 0))

    @property
    def master_keys(self) -> list[str]:
        return list((self.manifest.get("master_keys") or {}).get("ids", []))


@dataclass(frozen=True)
class Restored:
    """A restore done: what the backup said of itself, and the audit check of what was restored."""

    manifest: dict[str, Any]
    verdict: Verdict  # (of the backup as it was made: the `restored` entry is added after it)
    entry: str  # the `restored` entry's key in the restored audit log
    data: Path
    keys: Path


def bot_version() -> str:
    """The installed bot's version (or the checkout's, from pyproject.toml)."""
    try:
        return metadata.version("escalation-bot")
    except metadata.PackageNotFoundError:
        project = Path(__file__).resolve().parents[2] / "pyproject.toml"
        found = re.search(r'^version = "([^"]+)"', project.read_text(encoding="utf-8"), re.MULTILINE) \
            if project.is_file() else None
        return found[1] if found else "unknown"


def backup_path(out: Path, now: datetime) -> Path:
    """Where a backup goes: `out` itself (a new .tar.gz, .tgz or .tar file in an existing folder), or, if `out` is a
    folder, a file in it named for the time, `escalation-bot-backup-YYYYMMDD-HHMMSS.tar.gz`. BackupError otherwise."""
    if out.is_dir():
        out = out / f"escalation-bot-backup-{now:%Y%m%d-%H%M%S}.tar.gz"
    elif not out.suffix:  # (a folder meant, not made yet)
        raise BackupError(f"there is no folder {out} to write the backup in: make it first (mode 0700, owned by the "
                          "bot's user), or give a new .tar.gz file")
    elif not out.name.endswith(SUFFIXES):
        raise BackupError(f"a backup is a .tar.gz (or .tgz, or .tar) file: {out.name} is not one; or give a folder")
    if not out.parent.is_dir():
        raise BackupError(f"there is no folder {out.parent} to write the backup in")
    if out.exists() or out.is_symlink():
        raise BackupError(f"{out} already exists: a backup never replaces a file; give a new name, or a folder (which "
                          "gets a dated name)")
    return out


def embedded(store: Store) -> tuple[TinyDBStore, TinyDBStore | None]:
    """The data folder's store and the data keys' (None: none kept yet), opened by this process as their owner;
    BackupError for PostgreSQL or a store this process does not own."""
    inner, keystore = (store.inner, store.keystore) if isinstance(store, SealedStore) else (store, None)
    if not isinstance(inner, TinyDBStore):
        raise BackupError(f"backup copies the embedded store's folders; {PG_DUMP}")
    if keystore is not None and not isinstance(keystore, TinyDBStore | MemoryStore):
        raise BackupError(f"the data keys are not in a folder of their own; {PG_DUMP}")
    if inner.shared or (isinstance(keystore, TinyDBStore) and keystore.shared):
        raise BackupError("a backup is taken by the process that owns the store (the running bot, or a command run "
                          "while it is stopped), never beside it")
    return inner, keystore if isinstance(keystore, TinyDBStore) else None


def _inside(path: Path, folder: Path) -> bool:
    return path.resolve().is_relative_to(folder.resolve())


async def make_backup(store: Store, out: Path, *, by: str, now: datetime) -> BackupReport:
    """Back up `store` (the deployment's store, open, owned by this process: `embedded`) to `out` (`backup_path`).

    The backup is written to the audit log first (`backup_made`: the file's name and what the store held as it began,
    by `by`), so the archive holds its own entry; no write lands while the copy is taken (storage.backup). A backup
    that then fails adds `backup_failed` (the file's name and the kind of error) and raises. BackupError (one line)
    for a store that cannot be backed up this way or a target that will not do; nothing is written at `out` then."""
    data, keys = embedded(store)
    target = backup_path(out, now)
    if _inside(target, data.path) or (keys is not None and _inside(target, keys.path)):
        raise BackupError(f"{target} is inside the store's folders: write backups somewhere else (and keep them "
                          "apart from the master key)")
    cases, entries = len(await store.keys(CASES)), len(await store.keys(AUDIT_LOG))
    entry = await log_event(store, {"at": now.isoformat(), "by": by, "action": "backup_made",
                                    "detail": f"{target.name}; {cases} case(s), {entries} audit-log entries before "
                                              "this one"})
    about = {"made_at": now.isoformat(), "bot_version": bot_version(), "audit_entry": entry}
    pick = {"audit_head": (DATA, META, HEAD), "master_keys": (KEYS, DATA_KEYS, KEYRING_DOC)}
    try:
        archived = await write_archive(data, keys, target, about, pick)
    except BaseException as exc:
        failed = {"at": now.isoformat(), "by": by, "action": "backup_failed",
                  "detail": f"{target.name}; {type(exc).__name__}"}
        try:
            await asyncio.shield(log_event(store, failed))
        except Exception:  # noqa: S110 (the failure itself is what the caller is told)
            pass
        raise
    return BackupReport(archived.path, archived.size, archived.manifest, entry)


async def restore(archive: Path, data_dir: Path, key_dir: Path, keys: KeySource, *, by: str, now: datetime,
                  despite_break: bool = False) -> Restored:
    """Restore a backup into `data_dir` and `key_dir`, which must be absent or empty (BackupError otherwise).

    The archive is checked and unpacked beside them (storage.unpack), opened with the master keys `keys`
    gives (BOT_MASTER_KEY / BOT_MASTER_KEY_FILE: a development key is never looked for, since the keys' folder is
    empty), its case count checked against the manifest and its audit chains verified; then `restored` is added to
    its audit log (by `by`, naming the backup's time) and only then is it renamed into place. Anything refused or
    failing on the way removes what was unpacked: the targets are as they were. A broken audit trail is refused
    unless `despite_break`, and then named in the `restored` entry."""
    unpacked = await asyncio.to_thread(unpack, archive, data_dir, key_dir)
    try:
        verdict, entry = await _check(unpacked, archive, keys, by, now, despite_break)
        await asyncio.to_thread(unpacked.commit)
    except BaseException:
        await asyncio.to_thread(unpacked.discard)
        raise
    return Restored(unpacked.manifest, verdict, entry, data_dir, key_dir)


async def _check(unpacked: Unpacked, archive: Path, keys: KeySource, by: str, now: datetime,
                 despite_break: bool) -> tuple[Verdict, str]:
    wrapping = list((unpacked.manifest.get("master_keys") or {}).get("ids", []))
    if wrapping and not (keys.inline.strip() or keys.file.strip()):
        raise BackupError(f"the backup's data keys are wrapped under master key {', '.join(wrapping)}: set "
                          "BOT_MASTER_KEY_FILE to the file holding it (a trial store's development key was "
                          "<data>-keys/master.key: keep a copy apart and point BOT_MASTER_KEY_FILE at it); nothing "
                          "was restored")
    keystore: Store = TinyDBStore(unpacked.keys) if unpacked.keys is not None else MemoryStore()
    store = SealedStore(TinyDBStore(unpacked.data), keystore, KeySource(keys.inline, keys.file), make_keys=False)
    try:
        await store.open()
    except KeyringError as exc:
        raise BackupError(f"the backup cannot be opened: {exc}; nothing was restored") from None
    try:
        verdict = await verify(store)
        expected = int(unpacked.manifest["counts"][DATA].get(CASES, 0))
        if verdict.cases != expected:
            raise BackupError(f"{archive.name} holds {expected} case file(s) but {verdict.cases} can be read; nothing "
                              "was restored")
        if not verdict.ok and not despite_break:
            raise BackupError(f"the backup's audit trail is broken ({verdict.problems[0]}); nothing was restored "
                              "(--despite-audit-break restores it anyway and records the break)")
        made = unpacked.manifest.get("made_at", "an unknown time")
        broken = "" if verdict.ok else f"; its audit trail was broken: {len(verdict.problems)} problem(s)"
        entry = await log_event(store, {"at": now.isoformat(), "by": by, "action": "restored",
                                        "detail": f"from {archive.name}, made at {made}; {verdict.cases} case(s)"
                                                  f"{broken}"})
    finally:
        await store.close()
    return verdict, entry
