"""Crash-safe file writes and the TinyDB storage that uses them (one small TinyDB file per record)."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tinydb import TinyDB
from tinydb.storages import Storage
from tinydb.table import Document

from storage.base import Doc
from storage.common import encode

CrashHook = Callable[[str], None]
# Where a crash test can stop a write. A replacing write (`atomic_write`, used by put and update) passes the first
# three points writing its temp file and "before_rename" just before moving it over the target; a creating write
# (`atomic_create`) passes the same three, then "before_link" just before linking the temp file in (which fails if
# the target exists) and "after_link" once the record is in place but its temp name is still in tmp/.
CRASH_POINTS = ("before_write", "half_written", "before_fsync", "before_rename")
CREATE_CRASH_POINTS = ("before_write", "half_written", "before_fsync", "before_link", "after_link")
TABLE = "record"
TMP_SUFFIX = ".tmp"


class CorruptRecord(Exception):
    """A record file exists but does not hold a readable record."""


def fsync_dir(path: Path) -> None:
    """Make a directory's entries (a rename, a new or removed file) durable."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_temp(data: bytes, tmp_dir: Path, hook: CrashHook) -> str:
    """A new, fully written and fsynced temp file in `tmp_dir` holding `data`; its path.

    mkstemp opens the file with O_CREAT | O_EXCL under a random name, so two processes writing into the same
    tmp/ never share a temp file. If writing fails, the temp file is removed and the error propagates.
    """
    hook("before_write")
    fd, tmp_name = tempfile.mkstemp(dir=tmp_dir, prefix="w-", suffix=TMP_SUFFIX)
    try:
        with os.fdopen(fd, "wb") as handle:
            half = len(data) // 2
            handle.write(data[:half])
            handle.flush()
            hook("half_written")
            handle.write(data[half:])
            handle.flush()
            hook("before_fsync")
            os.fsync(handle.fileno())
    except BaseException:
        _unlink_quietly(tmp_name)
        raise
    return tmp_name


def _unlink_quietly(name: str) -> None:
    try:
        os.unlink(name)
    except OSError:
        pass  # already gone (an owner's start-up cleaned tmp/) or not removable: tmp/ is cleaned at the next open


def atomic_write(path: Path, data: bytes, tmp_dir: Path, crash_hook: CrashHook | None = None) -> None:
    """Replace `path` with `data` so that after a crash it holds the old or the new bytes, nothing else.

    Temp file in `tmp_dir` (same filesystem), flush, fsync, rename over the target, fsync its directory.
    `crash_hook` is called at each of CRASH_POINTS, for crash tests.
    """
    hook = crash_hook or (lambda _point: None)
    tmp_name = _write_temp(data, tmp_dir, hook)
    try:
        hook("before_rename")
        os.replace(tmp_name, path)
    except BaseException:
        _unlink_quietly(tmp_name)
        raise
    fsync_dir(path.parent)


def atomic_create(path: Path, data: bytes, tmp_dir: Path, crash_hook: CrashHook | None = None) -> bool:
    """Create `path` holding `data` only if no file of that name exists, even across processes; True if created.

    Temp file in `tmp_dir` (same filesystem), flush, fsync, then a hard link from the temp file to the target,
    which fails if the target exists (a corrupt file or a dangling symlink counts as existing): so of several
    processes creating the same path exactly one succeeds, and nobody ever sees it half written. Then the temp
    name is removed and the target's directory fsynced. After a crash the target is absent or complete; a crash
    after the link leaves a second name for it in `tmp_dir`, which the next exclusive open removes (the record
    stays). `crash_hook` is called at each of CREATE_CRASH_POINTS, for crash tests.
    """
    hook = crash_hook or (lambda _point: None)
    tmp_name = _write_temp(data, tmp_dir, hook)
    try:
        hook("before_link")
        try:
            os.link(tmp_name, path)
        except FileExistsError:
            return False
        hook("after_link")
    finally:
        _unlink_quietly(tmp_name)
    fsync_dir(path.parent)
    return True


class AtomicJSONStorage(Storage):
    """A tinydb Storage for one file, written atomically and durably via `atomic_write`.

    `read` returns None if the file is absent and raises CorruptRecord if it is not a JSON object.
    With `overwrite=True`, `read` ignores the file, so a write replaces it without reading it first.
    """

    def __init__(
        self, path: Path, *, tmp_dir: Path, crash_hook: CrashHook | None = None, overwrite: bool = False
    ) -> None:
        super().__init__()
        self.path = path
        self.tmp_dir = tmp_dir
        self.crash_hook = crash_hook
        self.overwrite = overwrite
        self.found = False

    def read(self) -> dict[str, dict[str, Any]] | None:
        if self.overwrite:
            return None
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return None
        self.found = True
        try:
            data = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:  # JSONDecodeError is a ValueError
            raise CorruptRecord(f"{self.path}: not valid JSON") from exc
        if not isinstance(data, dict) or not all(isinstance(t, dict) for t in data.values()):
            raise CorruptRecord(f"{self.path}: not a TinyDB document file")
        return data

    def write(self, data: dict[str, dict[str, Any]]) -> None:
        atomic_write(self.path, encode(data), self.tmp_dir, self.crash_hook)


def read_record(path: Path, tmp_dir: Path) -> tuple[str, Doc] | None:
    """The (key, document) stored in a record file, None if absent; CorruptRecord if unreadable."""
    storage = AtomicJSONStorage(path, tmp_dir=tmp_dir)
    try:
        with TinyDB(storage=lambda: storage) as db:
            raw = db.table(TABLE).get(doc_id=1)
    except (TypeError, ValueError, AttributeError) as exc:
        raise CorruptRecord(f"{path}: malformed record") from exc
    if raw is None:
        if storage.found:
            raise CorruptRecord(f"{path}: no record in the file")
        return None
    key, doc = raw.get("key"), raw.get("doc")
    if not isinstance(key, str) or not isinstance(doc, dict):
        raise CorruptRecord(f"{path}: malformed record")
    return key, doc


def write_record(path: Path, tmp_dir: Path, key: str, doc: Doc, crash_hook: CrashHook | None) -> None:
    """Create or replace a record file atomically, without reading what was there."""
    storage = AtomicJSONStorage(path, tmp_dir=tmp_dir, crash_hook=crash_hook, overwrite=True)
    with TinyDB(storage=lambda: storage) as db:
        db.table(TABLE).insert(Document({"key": key, "doc": doc}, doc_id=1))


def create_record(path: Path, tmp_dir: Path, key: str, doc: Doc, crash_hook: CrashHook | None) -> bool:
    """Create a record file only if none exists (atomically, across processes); True if created.

    The bytes are exactly those `write_record` stores (see `record_bytes`).
    """
    return atomic_create(path, record_bytes(key, doc), tmp_dir, crash_hook)


def record_bytes(key: str, doc: Doc) -> bytes:
    """Exactly the bytes `write_record` stores, for bulk loading."""
    return encode({TABLE: {"1": {"key": key, "doc": doc}}})
