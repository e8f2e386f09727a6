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
from storage.common import dumps

CrashHook = Callable[[str], None]
CRASH_POINTS = ("before_write", "half_written", "before_fsync", "before_rename")
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


def atomic_write(path: Path, data: bytes, tmp_dir: Path, crash_hook: CrashHook | None = None) -> None:
    """Replace `path` with `data` so that after a crash it holds the old or the new bytes, nothing else.

    Temp file in `tmp_dir` (same filesystem), flush, fsync, rename over the target, fsync its directory.
    `crash_hook` is called at each of CRASH_POINTS, for crash tests.
    """
    hook = crash_hook or (lambda _point: None)
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
        hook("before_rename")
        os.replace(tmp_name, path)
    except BaseException:
        try:
            os.unlink(tmp_name)
        except OSError:
            pass
        raise
    fsync_dir(path.parent)


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
        atomic_write(self.path, dumps(data).encode("utf-8"), self.tmp_dir, self.crash_hook)


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


def record_bytes(key: str, doc: Doc) -> bytes:
    """Exactly the bytes `write_record` stores, for bulk loading."""
    return dumps({TABLE: {"1": {"key": key, "doc": doc}}}).encode("utf-8")
