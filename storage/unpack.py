"""A backup archive (storage.backup) checked and unpacked beside an empty target (`unpack`), then renamed into place
whole (`Unpacked.commit`) or removed (`Unpacked.discard`): a hostile or damaged archive writes nothing outside it."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import secrets
import shutil
import tarfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from storage.atomic import fsync_dir
from storage.backup import (
    DATA,
    FORMAT,
    FORMAT_VERSION,
    KEYS,
    MANIFEST,
    BackupError,
    count_files,
    digest_member,
    is_key_file,
    remove_all,
)

MANIFEST_LIMIT = 1 << 20
_PART = re.compile(r"^[A-Za-z0-9_@%~-][A-Za-z0-9._@%~-]*$")  # (what the store's own names are made of)


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
        remove_all([self.data, *([self.keys] if self.keys else [])])


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
            remove_all([staged[KEYS]])
        return Unpacked(manifest, staged[DATA], staged[KEYS] if written[KEYS] else None, data_target, keys_target)
    except BaseException:
        remove_all(list(staged.values()))
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
                digest_member(digest, member.name, 0 if member.isdir() else member.size)
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
        if count_files(written[folder]) != (counts.get(folder) or {}):
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
