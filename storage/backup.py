"""Backups of the embedded store: its data folder and data-key folder as one tar archive with a manifest, taken while
no write lands (`write_archive`); and such an archive checked and unpacked beside an empty target (`unpack`), to be
renamed into place whole or not at all.

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
import re
import secrets
import shutil
import tarfile
import tempfile
import time
from collections.abc import Iterator, Mapping
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
MANIFEST_LIMIT = 1 << 20
_PART = re.compile(r"^[A-Za-z0-9_@%~-][A-Za-z0-9._@%~-]*$")  # (what the store's own names are made of)


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
        await asyncio.to_thread(_remove, list(snaps.values()))


def _link(stores: Mapping[str, TinyDBStore], snaps: Mapping[str, Path]) -> dict[str, list[Path]]:
    return {folder: store.snapshot(snaps[folder], skip=is_key_file) for folder, store in stores.items()}


def _remove(paths: list[Path]) -> None:
    for path in paths:
        shutil.rmtree(path, ignore_errors=True)


def _counts(files: list[PurePosixPath] | list[Path]) -> dict[str, int]:
    """Files per top-level name: a collection's records, a folder's files, meta.json itself."""
    counts: dict[str, int] = {}
    for path in files:
        counts[path.parts[0]] = counts.get(path.parts[0], 0) + 1
    return dict(sorted(counts.items()))


def _digest_member(digest: Any, name: str, size: int) -> None:
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
                        _digest_member(digest, info.name, 0)
                        tar.addfile(info)
                    for relative in files:
                        source = snaps[folder] / relative
                        with source.open("rb") as content:
                            info = _info(f"{folder}/{relative.as_posix()}", os.fstat(content.fileno()))
                            _digest_member(digest, info.name, info.size)
                            tar.addfile(info, _Hashing(content, digest))
                manifest = {
                    "format": FORMAT, "format_version": FORMAT_VERSION, "store_schema": SCHEMA_VERSION, **about,
                    "counts": {folder: _counts(files) for folder, files in linked.items()},
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


# --- reading ------------------------------------------------------------------------------------------------------

@dataclass
class Unpacked:
    """An archive checked and unpacked into folders beside its targets, not yet in place (`commit` or `discard`)."""

    manifest: dict[str, Any]
    data: Path
    keys: Path | None  # (None: the backup holds no data keys, a store from before sealing)
    data_target: Path
    keys_target: Path

    def commit(self) -> None:
        """Rename the unpacked folders into place: the data keys first, then the data folder, whose arrival is the
        restore's last step (a store is there only once it is whole). If the data cannot go, the keys come back."""
        if self.keys is not None:
            os.rename(self.keys, self.keys_target)
            fsync_dir(self.keys_target.parent)
        try:
            os.rename(self.data, self.data_target)
        except OSError as exc:
            if self.keys is not None:
                with contextlib.suppress(OSError):
                    os.rename(self.keys_target, self.keys)
            raise BackupError(f"cannot move the restored data into {self.data_target}: {exc.strerror or exc}; "
                              "nothing was restored") from None
        fsync_dir(self.data_target.parent)

    def discard(self) -> None:
        _remove([self.data, *([self.keys] if self.keys else [])])


def empty_or_absent(path: Path) -> bool:
    return not os.path.lexists(path) or (path.is_dir() and not path.is_symlink() and not any(path.iterdir()))


def unpack(archive: Path, data_target: Path, keys_target: Path) -> Unpacked:
    """Check `archive` and unpack it beside the two targets, which must be absent or empty folders (BackupError,
    with nothing changed, otherwise). Refused, leaving nothing behind: a member outside `data/` and `data-keys/`, a
    path with an absolute start, `..`, a hidden or odd name, a link, a device or any other special file, a name given
    twice, a key file, a manifest that is missing, not last, of another format or a newer version, or whose digest
    or file counts do not match what was unpacked."""
    for target in (data_target, keys_target):
        if os.path.islink(target):
            raise BackupError(f"{target} is a symbolic link: give the real folder; nothing was restored")
        if not empty_or_absent(target):
            raise BackupError(f"{target} is not empty: a restore goes into an empty or absent folder and overwrites "
                              "nothing (move it aside first); nothing was restored")
        if not target.parent.is_dir():
            raise BackupError(f"there is no folder {target.parent} to restore {target.name} into; nothing was "
                              "restored")
    if data_target.resolve() == keys_target.resolve():
        raise BackupError("the data folder and the data keys' folder must be two folders; nothing was restored")
    for target in (data_target, keys_target):
        _clean_stale(target)
    staged = {DATA: _staging(data_target), KEYS: _staging(keys_target)}
    try:
        manifest, written = _extract(archive, staged)
        for folder in staged.values():
            _fsync_tree(folder)
        if not written[KEYS]:
            _remove([staged[KEYS]])
        return Unpacked(manifest, staged[DATA], staged[KEYS] if written[KEYS] else None, data_target, keys_target)
    except BaseException:
        _remove(list(staged.values()))
        raise


def _staging(target: Path) -> Path:
    path = target.parent / f".{target.name}.restore-{os.getpid()}-{secrets.token_hex(4)}"
    path.mkdir(mode=0o700)
    return path


def _fsync_tree(folder: Path) -> None:
    """Make every folder's entries durable (each file was fsynced as it was written)."""
    for root, _, _ in os.walk(folder):
        fsync_dir(Path(root))


def _clean_stale(target: Path) -> None:
    """A restore's unpacked folders left by a crash (their process is gone): removed (they hold the data)."""
    for path in target.parent.glob(f".{target.name}.restore-*"):
        pid = path.name.rsplit(".restore-", 1)[1].split("-", 1)[0]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(path, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _refuse(archive: Path, why: str) -> BackupError:
    return BackupError(f"{archive.name} is not a sound backup: {why}; nothing was restored")


def _extract(archive: Path, staged: Mapping[str, Path]) -> tuple[dict[str, Any], dict[str, list[PurePosixPath]]]:
    digest = hashlib.sha256()
    written: dict[str, list[PurePosixPath]] = {DATA: [], KEYS: []}
    seen: set[str] = set()
    manifest: dict[str, Any] | None = None
    try:
        with tarfile.open(archive, "r:*") as tar:
            for member in _members(tar):
                if manifest is not None:
                    raise _refuse(archive, f"{member.name!r} comes after the manifest, which is always last")
                if member.name in seen:
                    raise _refuse(archive, f"{member.name!r} is in it twice")
                seen.add(member.name)
                if member.name == MANIFEST:
                    manifest = _manifest(archive, tar, member)
                    continue
                folder, relative = _checked(archive, member)
                try:
                    tarfile.data_filter(member, str(staged[folder]))  # (the standard library's own check, as well)
                except tarfile.FilterError as exc:
                    raise _refuse(archive, f"{member.name!r} is refused ({type(exc).__name__})") from None
                _digest_member(digest, member.name, 0 if member.isdir() else member.size)
                try:
                    if member.isdir():
                        (staged[folder] / relative).mkdir(mode=0o700, parents=True, exist_ok=True)
                    else:
                        _save(tar, member, staged[folder] / relative, digest)
                        written[folder].append(relative)
                except (FileExistsError, NotADirectoryError, IsADirectoryError):
                    raise _refuse(archive, f"{member.name!r} is both a file and a folder in it") from None
    except (tarfile.TarError, EOFError, OSError, ValueError) as exc:
        if isinstance(exc, BackupError):
            raise
        raise _refuse(archive, f"it cannot be read as a tar archive ({getattr(exc, 'strerror', None) or exc})"
                      ) from None
    if manifest is None:
        raise _refuse(archive, f"it has no {MANIFEST}")
    if manifest.get("digest") != f"sha256:{digest.hexdigest()}":
        raise _refuse(archive, "its files are not the ones the manifest was made with (the digest differs): it was "
                      "damaged or changed")
    counts = manifest.get("counts") or {}
    for folder in (DATA, KEYS):
        if _counts(written[folder]) != (counts.get(folder) or {}):
            raise _refuse(archive, f"{folder}/ holds other numbers of files than the manifest says")
    if PurePosixPath("meta.json") not in written[DATA]:
        raise _refuse(archive, "it holds no data/meta.json")
    return manifest, written


def _members(tar: tarfile.TarFile) -> Iterator[tarfile.TarInfo]:
    while True:
        member = tar.next()
        if member is None:
            return
        yield member


def _manifest(archive: Path, tar: tarfile.TarFile, member: tarfile.TarInfo) -> dict[str, Any]:
    if not member.isreg() or member.size > MANIFEST_LIMIT:
        raise _refuse(archive, f"its {MANIFEST} is not a small file")
    raw = tar.extractfile(member)
    try:
        manifest = json.loads(raw.read() if raw is not None else b"")
    except ValueError:
        raise _refuse(archive, f"its {MANIFEST} is not JSON") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise _refuse(archive, f"its {MANIFEST} is not a manifest of this bot's backups")
    version = manifest.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise _refuse(archive, f"it was made in format {version!r} by a newer version of the bot (this one reads "
                      f"format {FORMAT_VERSION}): restore it with that version")
    return manifest


def _checked(archive: Path, member: tarfile.TarInfo) -> tuple[str, PurePosixPath]:
    """The member's folder (DATA or KEYS) and its path within it; refused unless it is a plain name of ours."""
    name = member.name
    path = PurePosixPath(name)
    parts = path.parts
    if name.startswith("/") or not parts or any(not _PART.match(part) for part in parts):
        raise _refuse(archive, f"{name!r} is not a path inside it (absolute, with '..', hidden or odd characters)")
    if parts[0] not in (DATA, KEYS) or (len(parts) == 1 and not member.isdir()):
        raise _refuse(archive, f"{name!r} is neither in data/ nor in data-keys/")
    if not (member.isreg() or member.isdir()):
        raise _refuse(archive, f"{name!r} is a link or a special file; a backup holds only files and folders")
    relative = PurePosixPath(*parts[1:]) if len(parts) > 1 else PurePosixPath()
    if member.isreg() and is_key_file(relative):
        raise _refuse(archive, f"{name!r} is a key file, which a backup never holds")
    if len(parts) > 1 and parts[1] == "tmp":
        raise _refuse(archive, f"{name!r} is a temporary file, which a backup never holds")
    return parts[0], relative


def _save(tar: tarfile.TarFile, member: tarfile.TarInfo, target: Path, digest: Any) -> None:
    source = tar.extractfile(member)
    if source is None:
        raise tarfile.ReadError(f"{member.name} has no content")
    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "wb") as out:
        while chunk := source.read(1 << 16):
            digest.update(chunk)
            out.write(chunk)
        out.flush()
        os.fsync(out.fileno())
    os.utime(target, (member.mtime, member.mtime))
