"""TinyDBStore(shared=True): a guest beside an owner that holds the store, as an operator's export or audit runs
beside the server. The owner is a real second process (OWNER_SCRIPT), holding the lock as `python -m bot serve` does.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from storage import SCHEMA_VERSION, StoreError, StoreInUse, TinyDBStore
from storage.layout import record_path

ROOT = Path(__file__).resolve().parents[2]
LONG_KEY = "Ünïcødé ✓ " + "x" * 300  # a hashed file name: keys() reads the key from the file

# The owner: opens the store exclusively, then answers one JSON command per line on stdin with one JSON line on
# stdout. "put_paused" starts a put and stops it at its before_rename crash point (its temp file fully written in
# tmp/) until "resume", so a test can look at the store while the owner's write is in flight.
OWNER_SCRIPT = r"""
import asyncio, json, sys, threading
from pathlib import Path
from storage import TinyDBStore

reached, go, pausing = threading.Event(), threading.Event(), threading.Event()

def hook(point):
    if point == "before_rename" and pausing.is_set():
        reached.set()
        go.wait(30)

def reply(value):
    print(json.dumps({"ok": value}), flush=True)

async def main():
    async with TinyDBStore(Path(sys.argv[1]), crash_hook=hook) as store:
        print(json.dumps({"ready": True}), flush=True)
        paused = None
        while line := await asyncio.to_thread(sys.stdin.readline):
            cmd = json.loads(line)
            op, args = cmd.pop("op"), cmd
            if op == "put_paused":
                pausing.set()
                paused = asyncio.create_task(store.put(**args))
                await asyncio.to_thread(reached.wait, 30)
                reply(reached.is_set())
            elif op == "resume":
                go.set()
                await paused
                pausing.clear()
                reply(True)
            elif op == "scan":
                reply(sorted(await store.scan(**args)))
            elif op == "keys":
                reply(sorted(await store.keys(**args)))
            else:
                reply(await getattr(store, op)(**args))

asyncio.run(main())
"""


class Owner:
    """A process that owns the store; `call` runs one store method in it and returns its result."""

    def __init__(self, data: Path) -> None:
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        self.proc = subprocess.Popen([sys.executable, "-c", OWNER_SCRIPT, str(data)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)
        self.pid = self.proc.pid
        assert self._line() == {"ready": True}

    def _line(self) -> Any:
        assert self.proc.stdout is not None and self.proc.stderr is not None
        line = self.proc.stdout.readline()
        if not line:
            raise AssertionError(f"the owner process ended ({self.proc.wait(10)}): {self.proc.stderr.read()}")
        return json.loads(line)

    def call(self, op: str, **args: Any) -> Any:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps({"op": op, **args}) + "\n")
        self.proc.stdin.flush()
        return self._line()["ok"]

    def stop(self) -> None:
        if self.proc.poll() is None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()


@pytest.fixture
def owner(tmp_path: Path) -> Iterator[Owner]:
    running = Owner(tmp_path / "data")
    yield running
    running.stop()
    assert running.proc.returncode == 0


def snapshot(data: Path) -> dict[str, bytes]:
    return {str(p.relative_to(data)): p.read_bytes() for p in sorted(data.rglob("*")) if p.is_file()}


async def test_guest_reads_what_the_running_owner_wrote(owner: Owner, tmp_path: Path) -> None:
    data = tmp_path / "data"
    for key in ("ESC-2026-0001", "ESC-2026-0002", LONG_KEY):
        owner.call("put", collection="cases", key=key, doc={"ref": key, "v": 1})
    with pytest.raises(StoreInUse) as refused:  # the owner really holds the lock
        await TinyDBStore(data).open()
    assert refused.value.holder == str(owner.pid)
    async with TinyDBStore(data, shared=True) as guest:
        assert guest.shared
        assert await guest.get("cases", "ESC-2026-0001") == {"ref": "ESC-2026-0001", "v": 1}
        assert sorted(await guest.keys("cases")) == sorted(["ESC-2026-0001", "ESC-2026-0002", LONG_KEY])
        assert dict(await guest.scan("cases"))[LONG_KEY] == {"ref": LONG_KEY, "v": 1}
        assert await guest.get("cases", "ESC-2026-0003") is None
        owner.call("put", collection="cases", key="ESC-2026-0001", doc={"ref": "ESC-2026-0001", "v": 2})
        assert await guest.get("cases", "ESC-2026-0001") == {"ref": "ESC-2026-0001", "v": 2}  # nothing cached
    assert (data / ".lock").read_text() == f"{owner.pid}\n"


async def test_owner_reads_what_the_guest_created_and_create_never_replaces(owner: Owner, tmp_path: Path) -> None:
    data = tmp_path / "data"
    owner.call("put", collection="cases", key="ESC-1", doc={"by": "owner"})
    entry = {"action": "record_exported", "by": "cli:operator", "ref": "ESC-1"}
    async with TinyDBStore(data, shared=True) as guest:
        assert await guest.create("audit_log", "record_exported:1", entry) is True  # a new collection and shard
        assert await guest.create("audit_log", "record_exported:1", {"other": True}) is False
        assert await guest.create("cases", "ESC-1", {"by": "guest"}) is False
        assert owner.call("get", collection="audit_log", key="record_exported:1") == entry
        assert owner.call("scan", collection="audit_log") == [["record_exported:1", entry]]
        assert owner.call("create", collection="audit_log", key="record_exported:1", doc={"by": "owner"}) is False
        assert owner.call("create", collection="audit_log", key="record_exported:2", doc={"by": "owner"}) is True
        assert await guest.get("audit_log", "record_exported:2") == {"by": "owner"}
    assert owner.call("get", collection="cases", key="ESC-1") == {"by": "owner"}
    assert owner.call("get", collection="audit_log", key="record_exported:1") == entry
    assert stat_mode(record_path(data, "audit_log", "record_exported:1")) == 0o600


def stat_mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


async def test_guest_refuses_every_other_write(owner: Owner, tmp_path: Path) -> None:
    data = tmp_path / "data"
    owner.call("put", collection="cases", key="ESC-1", doc={"v": 1})
    assert owner.call("next_sequence", name="cases") == 1
    before = snapshot(data)
    async with TinyDBStore(data, shared=True) as guest:
        attempts = {
            "put": guest.put("cases", "ESC-1", {"v": 2}),
            "update": guest.update("cases", "ESC-1", lambda doc: {"v": 3}),
            "delete": guest.delete("cases", "ESC-1"),
            "next_sequence": guest.next_sequence("cases"),
        }
        for name, attempt in attempts.items():
            with pytest.raises(StoreError, match=rf"shared mode .* read-only apart from creating new records; {name} "):
                await attempt
        assert await guest.get("cases", "ESC-1") == {"v": 1}
    assert snapshot(data) == before
    assert owner.call("next_sequence", name="cases") == 2  # the owner is unaffected


async def test_guest_leaves_the_owners_temp_files_and_write_in_flight_alone(owner: Owner, tmp_path: Path) -> None:
    data = tmp_path / "data"
    owner.call("put", collection="cases", key="ESC-1", doc={"v": "old"})
    assert owner.call("put_paused", collection="cases", key="ESC-1", doc={"v": "new", "pad": "n" * 5000}) is True
    in_flight = list((data / "tmp").iterdir())
    assert len(in_flight) == 1 and in_flight[0].stat().st_size > 5000  # the owner's temp file, fully written
    stale = data / "tmp" / "w-stale-from-an-earlier-crash.tmp"
    stale.write_text('{"half')
    lock = (data / ".lock").read_bytes()
    async with TinyDBStore(data, shared=True) as guest:
        assert await guest.get("cases", "ESC-1") == {"v": "old"}
        assert await guest.create("audit_log", "a", {"n": 1}) is True
        assert sorted((data / "tmp").iterdir()) == sorted([in_flight[0], stale])  # and the guest's own temp is gone
    assert sorted((data / "tmp").iterdir()) == sorted([in_flight[0], stale])
    assert (data / ".lock").read_bytes() == lock
    assert owner.call("resume") is True  # its rename still finds its temp file
    assert owner.call("get", collection="cases", key="ESC-1") == {"v": "new", "pad": "n" * 5000}
    assert owner.call("get", collection="audit_log", key="a") == {"n": 1}
    assert list((data / "tmp").iterdir()) == [stale]  # until the owner's next start


async def test_shared_open_needs_a_store_an_owner_has_set_up_and_changes_nothing(tmp_path: Path) -> None:
    missing = tmp_path / "missing"
    with pytest.raises(StoreError, match="no store at"):
        await TinyDBStore(missing, shared=True).open()
    assert not missing.exists()
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(StoreError, match="no tmp/ folder"):
        await TinyDBStore(empty, shared=True).open()
    assert list(empty.iterdir()) == []

    data = tmp_path / "data"
    async with TinyDBStore(data) as store:
        await store.put("cases", "k", {"v": 1})
    (data / "meta.json").unlink()
    with pytest.raises(StoreError, match=r"meta\.json is missing"):
        await TinyDBStore(data, shared=True).open()
    assert not (data / "meta.json").exists()  # a guest never creates it
    (data / "meta.json").write_text(json.dumps({"schema_version": SCHEMA_VERSION + 1}))
    with pytest.raises(StoreError, match=f"schema version {SCHEMA_VERSION + 1}.*upgrade"):
        await TinyDBStore(data, shared=True).open()
    (data / "meta.json").write_text("{garbage")
    with pytest.raises(StoreError, match=r"meta\.json is unreadable"):
        await TinyDBStore(data, shared=True).open()

    (data / "meta.json").write_text(json.dumps({"schema_version": SCHEMA_VERSION}))
    (data / "tmp" / "w-stale.tmp").write_text('{"half')
    before = snapshot(data)
    guest = TinyDBStore(data, shared=True)
    await guest.open()
    with pytest.raises(StoreError, match="already open"):
        await guest.open()
    assert await guest.get("cases", "k") == {"v": 1}
    await guest.close()
    await guest.close()
    with pytest.raises(StoreError, match="not open"):
        await guest.get("cases", "k")
    assert snapshot(data) == before  # stale temp file kept, lock file untouched
    async with TinyDBStore(data):  # no owner was running: a guest never holds the lock
        assert list((data / "tmp").iterdir()) == []


async def test_guest_and_owner_in_one_process(tmp_path: Path) -> None:
    data = tmp_path / "data"
    async with TinyDBStore(data) as store, TinyDBStore(data, shared=True) as guest:
        await store.put("cases", "k", {"v": 1})
        assert await guest.get("cases", "k") == {"v": 1}
        assert await guest.create("cases", "new", {"v": 2}) is True
        assert await store.get("cases", "new") == {"v": 2}
        with pytest.raises(StoreInUse, match="this process"):  # the guest did not release the owner's lock
            await TinyDBStore(data).open()
