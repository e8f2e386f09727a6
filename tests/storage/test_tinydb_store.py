"""TinyDB backend specifics: persistence, locking, schema version, corruption and crash safety."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from storage import SCHEMA_VERSION, StoreError, StoreInUse, TinyDBStore
from storage.atomic import CRASH_POINTS, record_bytes
from storage.bulk import bulk_load_unsynced
from storage.layout import decode_key, encode_key, record_path

ROOT = Path(__file__).resolve().parents[2]
SECRET = "Child-Name-Jasmine-Q"


def run_python(code: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, env=env, cwd=ROOT, timeout=60
    )


OPEN_SCRIPT = """
import asyncio, sys
from pathlib import Path
from storage import StoreInUse, TinyDBStore
async def main():
    store = TinyDBStore(Path(sys.argv[1]))
    try:
        await store.open()
    except StoreInUse as exc:
        print(exc)
        sys.exit(3)
    await store.close()
    print("opened")
asyncio.run(main())
"""


async def test_persists_across_close_and_reopen(tmp_path: Path) -> None:
    async with TinyDBStore(tmp_path / "data") as store:
        await store.put("cases", "ESC-2026-0001", {"v": "é"})
        assert await store.next_sequence("cases") == 1
    async with TinyDBStore(tmp_path / "data") as store:
        assert await store.get("cases", "ESC-2026-0001") == {"v": "é"}
        assert await store.next_sequence("cases") == 2


async def test_second_process_gets_store_in_use(tmp_path: Path) -> None:
    async with TinyDBStore(tmp_path / "data"):
        result = run_python(OPEN_SCRIPT, str(tmp_path / "data"))
    assert result.returncode == 3, result.stderr
    assert f"another process (pid {os.getpid()})" in result.stdout
    assert str(tmp_path / "data") in result.stdout and "--data" in result.stdout


async def test_second_open_in_same_process_is_refused(tmp_path: Path) -> None:
    async with TinyDBStore(tmp_path / "data"):
        with pytest.raises(StoreInUse, match="store in use"):
            await TinyDBStore(tmp_path / "data").open()


async def test_lock_released_after_close(tmp_path: Path) -> None:
    store = TinyDBStore(tmp_path / "data")
    await store.open()
    await store.close()
    result = run_python(OPEN_SCRIPT, str(tmp_path / "data"))
    assert result.returncode == 0 and "opened" in result.stdout, result.stderr
    async with TinyDBStore(tmp_path / "data"):
        pass


async def test_schema_version_stored_and_newer_refused(tmp_path: Path) -> None:
    data = tmp_path / "data"
    async with TinyDBStore(data):
        pass
    assert json.loads((data / "meta.json").read_text()) == {"schema_version": SCHEMA_VERSION}
    (data / "meta.json").write_text(json.dumps({"schema_version": SCHEMA_VERSION + 1}))
    with pytest.raises(StoreError, match=f"schema version {SCHEMA_VERSION + 1}.*upgrade"):
        await TinyDBStore(data).open()
    (data / "meta.json").write_text("{garbage")
    with pytest.raises(StoreError, match=r"meta\.json is unreadable"):
        await TinyDBStore(data).open()
    (data / "meta.json").write_text(json.dumps({"schema_version": SCHEMA_VERSION}))
    async with TinyDBStore(data):  # the failed opens released the lock
        pass


async def test_stale_temp_files_are_cleaned_at_open(tmp_path: Path) -> None:
    data = tmp_path / "data"
    async with TinyDBStore(data):
        pass
    (data / "tmp" / "w-stale.tmp").write_text('{"half')
    (data / "tmp" / "other").write_bytes(b"")
    async with TinyDBStore(data):
        assert list((data / "tmp").iterdir()) == []


async def test_corrupt_file_is_skipped_by_scan_and_named_by_get(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with TinyDBStore(tmp_path / "data") as store:
        for key in ("a", "b", "c", "d"):
            await store.put("cases", key, {"name": SECRET, "key": key})
        garbage = {"a": f"{SECRET} not json", "c": '{"record": {"1": 5}}', "d": ""}
        for key, text in garbage.items():
            record_path(store.path, "cases", key).write_text(text)
        assert await store.scan("cases") == [("b", {"name": SECRET, "key": "b"})]
        for key in garbage:
            with pytest.raises(StoreError, match=f"cases/{key}"):
                await store.get("cases", key)
        with pytest.raises(StoreError, match="cases/a"):
            await store.update("cases", "a", lambda d: {"n": 1})
        assert sorted(await store.keys("cases")) == ["a", "b", "c", "d"]
        await store.put("cases", "a", {"repaired": True})  # put replaces a corrupt record
        assert await store.get("cases", "a") == {"repaired": True}
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert any(str(record_path(tmp_path / "data", "cases", "c")) in w for w in warnings)
    assert not any(SECRET in r.getMessage() for r in caplog.records)


ODD_KEYS = [
    "console:alice@example.org",
    "ESC-2026-0001",
    "esc-2026-0001",
    "A",
    "a",
    "a/b/../../c",
    "/",
    "..",
    ".",
    ".hidden",
    "a.b.c",
    "%41",
    "~tilde~",
    "with space",
    "back\\slash",
    "nul\x00byte",
    "Ünïcødé ✓ 😀",
    "x" * 1000,
    "é" * 300,
]


async def test_odd_keys_round_trip(tmp_path: Path) -> None:
    async with TinyDBStore(tmp_path / "data") as store:
        for i, key in enumerate(ODD_KEYS):
            await store.put("cases", key, {"i": i})
        assert sorted(await store.keys("cases")) == sorted(ODD_KEYS)
        for i, key in enumerate(ODD_KEYS):
            assert await store.get("cases", key) == {"i": i}
        assert sorted(k for k, _ in await store.scan("cases")) == sorted(ODD_KEYS)
    files = list((tmp_path / "data" / "cases").glob("*/*"))
    assert len(files) == len(ODD_KEYS)
    assert len({path.name.lower() for path in files}) == len(files)  # safe on case-insensitive disks
    for path in files:
        assert len(path.name) < 255 and path.name.isascii()
        assert path.parent.parent == tmp_path / "data" / "cases" and len(path.parent.name) == 2


def test_key_encoding_is_reversible_and_canonical() -> None:
    for key in ODD_KEYS:
        stem = encode_key(key)
        assert decode_key(stem) in (key, None)  # None: long key with a hashed name
    assert encode_key("ESC-1") == "%45%53%43-1"
    for bad in ["%4a", "%4", "UPPER", "sp ace", "%ZZ"]:
        with pytest.raises(ValueError):
            decode_key(bad)


async def test_writes_run_off_the_event_loop_in_fixed_crash_points(tmp_path: Path) -> None:
    calls: list[tuple[str, str]] = []
    hook = lambda point: calls.append((point, threading.current_thread().name))  # noqa: E731
    async with TinyDBStore(tmp_path / "data", crash_hook=hook) as store:
        calls.clear()
        await store.put("cases", "k", {"v": 1})
    assert [point for point, _ in calls] == list(CRASH_POINTS)
    assert all(name.startswith("store-writer") for _, name in calls)


@pytest.mark.parametrize("point", CRASH_POINTS)
async def test_failed_write_keeps_old_document_and_no_temp_file(tmp_path: Path, point: str) -> None:
    def hook(at: str) -> None:
        if at == point:
            raise OSError(28, "No space left on device")

    async with TinyDBStore(tmp_path / "data") as store:
        await store.put("cases", "k", {"v": "old"})
    async with TinyDBStore(tmp_path / "data", crash_hook=hook) as store:
        with pytest.raises(StoreError, match="cannot write cases/k: No space left"):
            await store.put("cases", "k", {"v": "new"})
        assert await store.get("cases", "k") == {"v": "old"}
        assert list((tmp_path / "data" / "tmp").iterdir()) == []


CRASH_SCRIPT = """
import asyncio, os, signal, sys
from pathlib import Path
from storage import TinyDBStore
def hook(point):
    if point == sys.argv[2]:
        os.kill(os.getpid(), signal.SIGKILL)
async def main():
    async with TinyDBStore(Path(sys.argv[1]), crash_hook=hook) as store:
        await store.put("cases", sys.argv[3], {"version": "new", "pad": "n" * 20000})
asyncio.run(main())
"""


@pytest.mark.parametrize(("point", "key"), [(p, "ESC-1") for p in CRASH_POINTS] + [("before_rename", "NEW")])
async def test_killed_writer_leaves_old_document(tmp_path: Path, point: str, key: str) -> None:
    data = tmp_path / "data"
    old = {"version": "old", "pad": "o" * 20000}
    async with TinyDBStore(data) as store:
        await store.put("cases", "ESC-1", old)
    result = run_python(CRASH_SCRIPT, str(data), point, key)
    assert result.returncode == -signal.SIGKILL, result.stderr
    temps = list((data / "tmp").iterdir())
    if point == "before_write":
        assert temps == []
    else:  # the killed writer left its temp file behind, half or fully written
        assert len(temps) == 1
        size = len(record_path(data, "cases", key).read_bytes()) if key == "ESC-1" else None
        assert size is None or temps[0].stat().st_size in (size // 2, size)
    async with TinyDBStore(data) as store:
        assert list((data / "tmp").iterdir()) == []
        assert await store.get("cases", "ESC-1") == old
        assert await store.get("cases", "NEW") is None
        assert await store.keys("cases") == ["ESC-1"]


async def test_bulk_load_matches_store_format(tmp_path: Path) -> None:
    data = tmp_path / "data"
    docs = {f"ESC-{i}": {"i": i, "name": "Zoë"} for i in range(50)}
    assert bulk_load_unsynced(data, "cases", docs.items()) == 50
    async with TinyDBStore(data) as store:
        assert dict(await store.scan("cases")) == docs
        await store.put("cases", "ESC-0", docs["ESC-0"])
        with pytest.raises(StoreInUse):
            bulk_load_unsynced(data, "cases", [])
        written_by_put = record_path(data, "cases", "ESC-0").read_bytes()
    assert written_by_put == record_bytes("ESC-0", docs["ESC-0"])
