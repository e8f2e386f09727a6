"""Backups of the embedded store: its data folder and data-key folder as one tar archive with a manifest, taken while
no write lands (`write_archive`; storage.unpack checks one and puts it back).

The archive holds `data/...` (meta.json, every record, the console's saved copies of written records), `data-keys/...`
(the data keys, each wrapped under a master key) and, last, `manifest.json`: the format, what the caller says about
the backup, the number of files in each top-level folder, and a SHA-256 digest of every member before it. Never a
master key: no `*.key` file is written, and an archive holding one is refused. Never `.lock` or `tmp/`.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import io
import json
import os
import secrets
import shutil
import tarfile
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, Any

from storage.atomic import CorruptRecord, fsync_dir, read_record
from storage.base import StoreError
from storage.layout import record_path
from storage.tinydb_store import SCHEMA_VERSION, TinyDBStore

FORMAT = "escalation-bot-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
DATA, KEYS = "data", "data-keys"  # the archive's two folders, whatever the folders are called on disk
SUFFIXES = (".tar.gz", ".tgz", ".tar")


class BackupError(StoreError):
    """A backup or a restore that cannot be done: one line saying why, and what to do."""


@dataclass(frozen=True)
class Archived:
    """A backup written: where, how big, and its manifest."""

    path: Path
    size: int
    manifest: dict[str, Any]


def is_key_file(relative: PurePosixPath | Path) -> bool:
    """A master key's file (the development key `master.key`, or any `*.key`): never in a backup."""
    return relative.name.endswith(".key")


def compressed(path: Path) -> bool:
    return path.name.endswith((".tar.gz", ".tgz"))


# --- writing -----------------------------------------------------------------------------------------------------

async def write_archive(data: TinyDBStore, keys: TinyDBStore | None, out: Path, about: Mapping[str, Any],
                        pick: Mapping[str, tuple[str, str, str]] | None = None) -> Archived:
    """Write a backup of `data` and `keys` (both open, by their owner: this process) to `out`, a new file.

    Both writers are held still (`TinyDBStore.frozen`) while every file is hard-linked into a snapshot in each store's
    tmp/ (a moment, even at 100,000 records); the archive is then written from the snapshots while the bot carries on.
    `about` goes into the manifest as it is; `pick` names records read from the snapshot into it (field -> (DATA or
    KEYS, collection, key)), so they are as the copy is. Written as a temp file (0600) beside `out`, then linked in:
    an existing file is never replaced (BackupError), and a failure leaves nothing at `out`."""
    stores = {DATA: data, **({KEYS: keys} if keys is not None else {})}
    name = f"backup-{os.getpid()}-{secrets.token_hex(4)}"
    snaps = {folder: store.scratch(name) for folder, store in stores.items()}
    try:
        async with contextlib.AsyncExitStack() as frozen:
            for store in stores.values():  # (the data first: a case's key is made before the case is written)
                await frozen.enter_async_context(store.frozen())
            linked = await asyncio.to_thread(_link, stores, snaps)
        return await asyncio.to_thread(_write, snaps, linked, out, about, pick or {})
    except OSError as exc:
        raise BackupError(f"cannot write the backup {out}: {exc.strerror or exc}") from exc
    finally:
        await asyncio.to_thread(remove_all, list(snaps.values()))


def _link(stores: Mapping[str, TinyDBStore], snaps: Mapping[str, Path]) -> dict[str, list[Path]]:
    return {folder: store.snapshot(snaps[folder], skip=is_key_file) for folder, store in stores.items()}


def remove_all(paths: list[Path]) -> None:
    """Remove these folders and everything in them (a snapshot, an unpacked backup)."""
    for path in paths:
        shutil.rmtree(path, ignore_errors=True)


def count_files(files: list[PurePosixPath] | list[Path]) -> dict[str, int]:
    """Files per top-level name (a collection's records, a folder's files, meta.json itself): the manifest's counts."""
    counts: dict[str, int] = {}
    for path in files:
        counts[path.parts[0]] = counts.get(path.parts[0], 0) + 1
    return dict(sorted(counts.items()))


def digest_member(digest: Any, name: str, size: int) -> None:
    """What the manifest's digest takes in for a member before its bytes (a folder: size 0, no bytes)."""
    digest.update(name.encode("utf-8") + b"\x00" + str(size).encode("ascii") + b"\x00")


def _picked(snaps: Mapping[str, Path], pick: Mapping[str, tuple[str, str, str]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for field, (folder, collection, key) in pick.items():
        found = None
        if folder in snaps:
            try:
                found = read_record(record_path(snaps[folder], collection, key), snaps[folder] / "tmp")
            except CorruptRecord:
                found = None
        out[field] = None if found is None else found[1]
    return out


def _write(snaps: Mapping[str, Path], linked: Mapping[str, list[Path]], out: Path, about: Mapping[str, Any],
           pick: Mapping[str, tuple[str, str, str]]) -> Archived:
    digest = hashlib.sha256()
    fd, temp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    try:
        with os.fdopen(fd, "wb") as raw:
            os.fchmod(raw.fileno(), 0o600)
            options: dict[str, Any] = {"compresslevel": 6} if compressed(out) else {}
            with tarfile.open(fileobj=raw, mode="w:gz" if compressed(out) else "w", format=tarfile.PAX_FORMAT,
                              **options) as tar:
                for folder, files in linked.items():
                    for directory in _folders(snaps[folder]):
                        info = tarfile.TarInfo(f"{folder}/{directory.as_posix()}")
                        info.type, info.mode = tarfile.DIRTYPE, 0o700
                        digest_member(digest, info.name, 0)
                        tar.addfile(info)
                    for relative in files:
                        source = snaps[folder] / relative
                        with source.open("rb") as content:
                            info = _info(f"{folder}/{relative.as_posix()}", os.fstat(content.fileno()))
                            digest_member(digest, info.name, info.size)
                            tar.addfile(info, _Hashing(content, digest))
                manifest = {
                    "format": FORMAT, "format_version": FORMAT_VERSION, "store_schema": SCHEMA_VERSION, **about,
                    "counts": {folder: count_files(files) for folder, files in linked.items()},
                    **_picked(snaps, pick),
                    "digest": f"sha256:{digest.hexdigest()}",
                }
                body = json.dumps(manifest, indent=2, sort_keys=True).encode("utf-8") + b"\n"
                info = tarfile.TarInfo(MANIFEST)
                info.size, info.mode, info.mtime = len(body), 0o600, int(time.time())
                tar.addfile(info, io.BytesIO(body))
            raw.flush()
            os.fsync(raw.fileno())
        try:
            os.link(temp, out)  # (fails if anything is at `out`, a dangling symlink included: never replaced)
        except FileExistsError:
            raise BackupError(f"{out} already exists: a backup never replaces a file; give a new name, or a folder "
                              "(which gets a dated name)") from None
        fsync_dir(out.parent)
        return Archived(out, out.stat().st_size, manifest)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)


def _folders(root: Path) -> list[Path]:
    """Every folder under `root`, relative, parents first."""
    return sorted((Path(here) / name).relative_to(root) for here, names, _ in os.walk(root) for name in names)


def _info(name: str, stat: os.stat_result) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = stat.st_size, int(stat.st_mtime), 0o600
    return info


class _Hashing:
    """A file read through, its bytes added to a digest on the way (so each file is read once)."""

    def __init__(self, raw: IO[bytes], digest: Any) -> None:
        self.raw, self.digest = raw, digest

    def read(self, size: int = -1) -> bytes:
        chunk = self.raw.read(size)
        self.digest.update(chunk)
        return chunk
