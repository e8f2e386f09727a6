"""storage.backup, storage.unpack and TinyDBStore.frozen: a backup archive is the store at one moment (a write
started while the copy is taken lands after it, outside the archive), holds no key file, is written as a new
owner-only file or not at all; and an archive is unpacked only if every member is a plain file of ours and the
manifest's digest and counts match, leaving nothing behind otherwise."""

from __future__ import annotations

import asyncio
import concurrent.futures
import hashlib
import io
import json
import stat
import tarfile
from pathlib import Path

import pytest

from storage import StoreError, TinyDBStore
from storage.backup import MANIFEST, BackupError, write_archive
from storage.unpack import unpack

ABOUT = {"made_at": "2026-11-23T10:00:00+00:00", "bot_version": "test"}


async def filled(tmp_path: Path) -> tuple[TinyDBStore, TinyDBStore]:
    data, keys = TinyDBStore(tmp_path / "data"), TinyDBStore(tmp_path / "data-keys")
    await data.open()
    await keys.open()
    for n in range(5):
        await data.put("cases", f"ESC-2026-{n:04d}", {"ref": f"ESC-2026-{n:04d}", "n": n})
    await data.put("meta", "audit-head", {"seq": 5, "mac": "m"})
    await keys.put("data_keys", "master-keys", {"ids": ["abc"]})
    (tmp_path / "data-keys" / "master.key").write_text("not a real key\n")
    (tmp_path / "data" / "stray.key").write_text("a key someone left here\n")
    return data, keys


def members(archive: Path) -> dict[str, bytes]:
    with tarfile.open(archive) as tar:
        return {m.name: (tar.extractfile(m) or io.BytesIO()).read() for m in tar.getmembers()}


async def test_the_archive_is_the_store_with_a_manifest_and_no_key_file(tmp_path: Path) -> None:
    data, keys = await filled(tmp_path)
    out = tmp_path / "b.tar.gz"
    try:
        done = await write_archive(data, keys, out, ABOUT, {"head": ("data", "meta", "audit-head"),
                                                             "ids": ("data-keys", "data_keys", "master-keys")})
    finally:
        await data.close()
        await keys.close()
    assert stat.S_IMODE(out.stat().st_mode) == 0o600 and done.size == out.stat().st_size
    found = members(out)
    assert list(found)[-1] == MANIFEST
    assert not [name for name in found if name.endswith(".key") or "/tmp/" in name or name.endswith(".lock")]
    manifest = json.loads(found[MANIFEST])
    assert manifest["counts"] == {"data": {"cases": 5, "meta": 1, "meta.json": 1},
                                  "data-keys": {"data_keys": 1, "meta.json": 1}}
    assert manifest["head"] == {"seq": 5, "mac": "m"} and manifest["ids"] == {"ids": ["abc"]}
    assert manifest["made_at"] == ABOUT["made_at"] and manifest["format_version"] == 1
    assert not list((tmp_path / "data" / "tmp").iterdir())  # (the snapshot is gone)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # (no temp archive left)


async def test_a_write_started_during_the_copy_lands_after_it(tmp_path: Path, monkeypatch) -> None:
    data, keys = await filled(tmp_path)
    loop = asyncio.get_running_loop()
    late: list[concurrent.futures.Future[None]] = []
    real = TinyDBStore.snapshot

    def snapshot(store: TinyDBStore, into: Path, skip=lambda _: False):  # (on a worker thread, both writers held)
        if store is data:
            write = asyncio.run_coroutine_threadsafe(data.put("cases", "ESC-2026-0001", {"changed": True}), loop)
            with pytest.raises(concurrent.futures.TimeoutError):
                write.result(timeout=0.3)  # (unheld, a write takes milliseconds)
            late.append(write)
        return real(store, into, skip)

    monkeypatch.setattr(TinyDBStore, "snapshot", snapshot)
    out = tmp_path / "b.tar"
    try:
        await write_archive(data, keys, out, ABOUT)
        await asyncio.wrap_future(late[0])
        assert await data.get("cases", "ESC-2026-0001") == {"changed": True}  # (it landed, after)
    finally:
        await data.close()
        await keys.close()
    (name,) = [n for n in members(out) if n.startswith("data/cases/") and n.endswith("%45%53%43-2026-0001.json")]
    assert b'"changed"' not in members(out)[name] and b'"n":1' in members(out)[name]


async def test_frozen_is_the_owners_alone(tmp_path: Path) -> None:
    async with TinyDBStore(tmp_path / "data"):
        async with TinyDBStore(tmp_path / "data", shared=True) as guest:
            with pytest.raises(StoreError, match="only that process can hold its writes still"):
                async with guest.frozen():
                    pass


async def test_an_existing_file_is_never_replaced_and_a_failure_leaves_nothing(tmp_path: Path, monkeypatch) -> None:
    data, keys = await filled(tmp_path)
    out = tmp_path / "b.tar.gz"
    out.write_bytes(b"an older backup")
    try:
        with pytest.raises(BackupError, match="already exists"):
            await write_archive(data, keys, out, ABOUT)
        assert out.read_bytes() == b"an older backup"

        def full(*_args, **_kwargs):
            raise OSError(28, "No space left on device")

        monkeypatch.setattr("storage.backup._info", full)
        with pytest.raises(BackupError, match="No space left on device"):
            await write_archive(data, keys, tmp_path / "c.tar.gz", ABOUT)
    finally:
        await data.close()
        await keys.close()
    assert not (tmp_path / "c.tar.gz").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
    assert not list((tmp_path / "data" / "tmp").iterdir()) and not list((tmp_path / "data-keys" / "tmp").iterdir())


async def test_a_snapshot_left_by_a_crash_goes_at_the_next_open(tmp_path: Path) -> None:
    async with TinyDBStore(tmp_path / "data") as store:
        left = store.scratch("backup-1-dead")
        left.mkdir()
        (left / "cases").mkdir()
        (left / "cases" / "x.json").write_text("{}")
    async with TinyDBStore(tmp_path / "data"):
        assert not left.exists()


# --- unpacking ----------------------------------------------------------------------------------------------------

def archive_of(path: Path, files: dict[str, bytes], manifest: dict | None, extra: list[tarfile.TarInfo] = ()) -> Path:
    """A tar archive as a hostile or damaged one might be: `files`, then `extra` members, then the manifest (its
    digest made over `files` unless it says otherwise)."""
    digest = hashlib.sha256()
    with tarfile.open(path, "w") as tar:
        for name, body in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(body)
            digest.update(name.encode() + b"\x00" + str(len(body)).encode() + b"\x00" + body)
            tar.addfile(info, io.BytesIO(body))
        for info in extra:
            tar.addfile(info, io.BytesIO(b"x" * info.size) if info.isreg() else None)
        if manifest is not None:
            body = json.dumps({"digest": f"sha256:{digest.hexdigest()}", **manifest}).encode()
            info = tarfile.TarInfo(MANIFEST)
            info.size = len(body)
            tar.addfile(info, io.BytesIO(body))
    return path


GOOD = {"data/meta.json": b'{"schema_version": 1}', "data/cases/d9/x.json": b"{}", "data-keys/meta.json": b"{}"}
COUNTS = {"data": {"cases": 1, "meta.json": 1}, "data-keys": {"meta.json": 1}}
MANIFEST_OK = {"format": "escalation-bot-backup", "format_version": 1, "counts": COUNTS}


def link(name: str, target: str, kind: bytes = tarfile.SYMTYPE) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, target
    return info


def regular(name: str) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size = 1
    return info


HOSTILE = {
    "a member climbing out": ({**GOOD, "data/../../escaped": b"x"}, MANIFEST_OK, [], "not a path inside it"),
    "an absolute member": ({**GOOD, "/tmp/escaped-by-backup-test": b"x"}, MANIFEST_OK, [], "not a path inside it"),
    "a symlink": (GOOD, MANIFEST_OK, [link("data/cases/d9/y.json", "/etc/passwd")], "a link or a special file"),
    "a hard link": (GOOD, MANIFEST_OK, [link("data/cases/d9/y.json", "data/meta.json", tarfile.LNKTYPE)],
                    "a link or a special file"),
    "a device": (GOOD, MANIFEST_OK, [link("data/cases/d9/y.json", "", tarfile.CHRTYPE)], "a link or a special file"),
    "a member outside both folders": ({**GOOD, "elsewhere/x.json": b"{}"}, MANIFEST_OK, [], "neither in data/"),
    "a key file": ({**GOOD, "data-keys/master.key": b"k"}, MANIFEST_OK, [], "a key file"),
    "no manifest": (GOOD, None, [], "has no manifest.json"),
    "a file missing": ({k: v for k, v in GOOD.items() if "cases" not in k}, MANIFEST_OK, [], "other numbers of files"),
    "a changed file": (GOOD, {**MANIFEST_OK, "digest": "sha256:0"}, [], "the digest differs"),
    "a newer format": (GOOD, {**MANIFEST_OK, "format_version": 2}, [], "by a newer version"),
    "a member after the manifest": (GOOD, MANIFEST_OK, [], "comes after the manifest"),
}


@pytest.mark.parametrize("case", HOSTILE, ids=list(HOSTILE))
def test_a_hostile_or_damaged_archive_is_refused_leaving_nothing(tmp_path: Path, case: str) -> None:
    files, manifest, extra, why = HOSTILE[case]
    path = archive_of(tmp_path / "b.tar", files, manifest, extra)
    if case == "a member after the manifest":
        with tarfile.open(path, "a") as tar:
            tar.addfile(regular("data/cases/d9/late.json"), io.BytesIO(b"x"))
    place = tmp_path / "place"
    place.mkdir()
    with pytest.raises(BackupError, match=why):
        unpack(path, place / "data", place / "data-keys")
    assert list(place.iterdir()) == []  # (no target, no unpacked folder)
    assert not (tmp_path / "escaped").exists() and not Path("/tmp/escaped-by-backup-test").exists()


def test_a_sound_archive_unpacks_beside_its_targets_and_commits_whole(tmp_path: Path) -> None:
    path = archive_of(tmp_path / "b.tar", GOOD, MANIFEST_OK)
    place = tmp_path / "place"
    (place / "data").mkdir(parents=True)  # (an empty folder is taken too, as an install makes it)
    unpacked = unpack(path, place / "data", place / "data-keys")
    assert not (place / "data-keys").exists() and not any((place / "data").iterdir())
    unpacked.commit()
    assert (place / "data" / "cases" / "d9" / "x.json").read_bytes() == b"{}"
    assert (place / "data-keys" / "meta.json").is_file()
    assert sorted(p.name for p in place.iterdir()) == ["data", "data-keys"]
    assert stat.S_IMODE((place / "data" / "meta.json").stat().st_mode) == 0o600


def test_a_target_not_empty_is_refused_and_kept(tmp_path: Path) -> None:
    path = archive_of(tmp_path / "b.tar", GOOD, MANIFEST_OK)
    (tmp_path / "data-keys").mkdir()
    (tmp_path / "data-keys" / "keep.json").write_text("mine")
    with pytest.raises(BackupError, match="is not empty"):
        unpack(path, tmp_path / "data", tmp_path / "data-keys")
    assert (tmp_path / "data-keys" / "keep.json").read_text() == "mine" and not (tmp_path / "data").exists()


def test_an_interrupted_unpack_leaves_nothing_and_a_dead_ones_leftovers_go(tmp_path: Path, monkeypatch) -> None:
    path = archive_of(tmp_path / "b.tar", GOOD, MANIFEST_OK)
    place = tmp_path / "place"
    place.mkdir()
    dead = place / ".data.restore-999999999-abcd"  # (a restore killed part-way: its process is gone)
    dead.mkdir()
    calls = []

    def interrupted(*args):
        calls.append(args)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(*args)

    from storage import unpack as unpacking

    real = unpacking._save
    monkeypatch.setattr(unpacking, "_save", interrupted)
    with pytest.raises(KeyboardInterrupt):
        unpack(path, place / "data", place / "data-keys")
    assert list(place.iterdir()) == []

