"""TinyDBStore.create is atomic across processes (a hard link that fails if the record exists) and crash-safe at
each of its crash points, for an owner and for a guest (shared=True) beside one."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from storage import StoreError, TinyDBStore
from storage.atomic import CRASH_POINTS, CREATE_CRASH_POINTS, record_bytes, write_record
from storage.layout import record_path

ROOT = Path(__file__).resolve().parents[2]
DOC = {"version": "new", "pad": "n" * 20000}


def run_python(code: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, env=env, cwd=ROOT, timeout=60
    )


async def test_create_passes_its_crash_points_in_order_on_the_writer_thread(tmp_path: Path) -> None:
    calls: list[tuple[str, str]] = []
    hook = lambda point: calls.append((point, threading.current_thread().name))  # noqa: E731
    async with TinyDBStore(tmp_path / "data", crash_hook=hook) as store:
        calls.clear()
        assert await store.create("cases", "k", {"v": 1}) is True
        assert [point for point, _ in calls] == list(CREATE_CRASH_POINTS)
        assert all(name.startswith("store-writer") for _, name in calls)
        calls.clear()
        assert await store.create("cases", "k", {"v": 2}) is False
        assert calls == []  # an existing record is seen before any temp file is written
        await store.put("cases", "k", {"v": 3})
        assert [point for point, _ in calls] == list(CRASH_POINTS)  # put keeps its own points
    assert list((tmp_path / "data" / "tmp").iterdir()) == []


async def test_create_writes_exactly_the_bytes_put_writes(tmp_path: Path) -> None:
    doc = {"name": "Zoë Ó'Brien", "nested": {"list": [1, 2.5, None, True]}, "empty": ""}
    async with TinyDBStore(tmp_path / "data") as store:
        assert await store.create("cases", "created", doc) is True
        await store.put("cases", "put", doc)
        assert await store.get("cases", "created") == doc
    assert record_path(tmp_path / "data", "cases", "created").read_bytes() == record_bytes("created", doc)
    assert record_path(tmp_path / "data", "cases", "put").read_bytes() == record_bytes("put", doc)


async def test_create_that_loses_the_race_at_the_link_returns_false_and_keeps_the_winner(tmp_path: Path) -> None:
    data = tmp_path / "data"
    target = record_path(data, "audit_log", "k")

    def other_process_wins(point: str) -> None:  # the record appears after the check, before the link
        if point == "before_link":
            write_record(target, data / "tmp", "k", {"by": "winner"}, None)

    async with TinyDBStore(data, crash_hook=other_process_wins) as store:
        assert await store.create("audit_log", "k", {"by": "loser"}) is False
        assert await store.get("audit_log", "k") == {"by": "winner"}
    assert list((data / "tmp").iterdir()) == []


@pytest.mark.parametrize("point", CREATE_CRASH_POINTS)
async def test_failed_create_leaves_no_temp_file_and_no_partial_record(tmp_path: Path, point: str) -> None:
    def hook(at: str) -> None:
        if at == point:
            raise OSError(28, "No space left on device")

    async with TinyDBStore(tmp_path / "data"):  # lay the store out (its meta.json write passes the same points)
        pass
    async with TinyDBStore(tmp_path / "data", crash_hook=hook) as store:
        with pytest.raises(StoreError, match="cannot write cases/k: No space left"):
            await store.create("cases", "k", {"v": "new"})
        assert list((tmp_path / "data" / "tmp").iterdir()) == []
        if point == "after_link":  # the record was already in place: complete, and it stays
            assert await store.get("cases", "k") == {"v": "new"}
        else:
            assert await store.get("cases", "k") is None
            assert await store.keys("cases") == []
    async with TinyDBStore(tmp_path / "data") as store:
        assert await store.create("cases", "k", {"v": "again"}) is (point != "after_link")


CREATE_CRASH_SCRIPT = """
import asyncio, os, signal, sys
from pathlib import Path
from storage import TinyDBStore
def hook(point):
    if point == sys.argv[2]:
        os.kill(os.getpid(), signal.SIGKILL)
async def main():
    async with TinyDBStore(Path(sys.argv[1]), crash_hook=hook, shared=sys.argv[3] == "shared") as store:
        await store.create("audit_log", "ESC-1", {"version": "new", "pad": "n" * 20000})
asyncio.run(main())
"""


@pytest.mark.parametrize("mode", ["owner", "shared"])
@pytest.mark.parametrize("point", CREATE_CRASH_POINTS)
async def test_killed_creator_leaves_no_record_or_a_complete_one(tmp_path: Path, point: str, mode: str) -> None:
    data = tmp_path / "data"
    target = record_path(data, "audit_log", "ESC-1")
    async with TinyDBStore(data) as store:
        await store.put("audit_log", "other", {"v": 1})
    owner = TinyDBStore(data)
    if mode == "shared":  # the guest dies beside a running owner (this process)
        await owner.open()
    result = run_python(CREATE_CRASH_SCRIPT, str(data), point, mode)
    assert result.returncode == -signal.SIGKILL, result.stderr
    temps = list((data / "tmp").iterdir())
    assert len(temps) == (0 if point == "before_write" else 1)
    if point == "after_link":  # the temp file is a second name of the complete record
        assert target.stat().st_nlink == 2 and os.path.samefile(temps[0], target)
    else:
        assert not target.exists()
    if mode == "shared":
        expected = DOC if point == "after_link" else None
        assert await owner.get("audit_log", "ESC-1") == expected  # the owner reads a consistent store at once
        assert sorted(await owner.keys("audit_log")) == sorted(["other"] + (["ESC-1"] if expected else []))
        assert await owner.create("audit_log", "ESC-1", {"by": "owner"}) is (expected is None)
        await owner.close()
    async with TinyDBStore(data) as store:  # the next owner start removes the stale temp file, not the record
        assert list((data / "tmp").iterdir()) == []
        got = await store.get("audit_log", "ESC-1")
        if point == "after_link":
            assert got == DOC and target.stat().st_nlink == 1
        else:
            assert got == (None if mode == "owner" else {"by": "owner"})
        assert await store.get("audit_log", "other") == {"v": 1}


# --- two processes racing to create the same keys -----------------------------------------------------------------

ROUNDS = 150


def race(data: str, name: str, shared: bool, barrier: Any, results: Any) -> None:
    """Create race-0, race-1, ... once each, every round starting together with the other racers."""

    async def main() -> list[bool]:
        won: list[bool] = []
        async with TinyDBStore(Path(data), shared=shared) as store:
            barrier.wait(60)  # everyone has the store open
            for i in range(ROUNDS):
                barrier.wait(60)
                won.append(await store.create("audit_log", f"race-{i}", {"by": name, "i": i}))
        return won

    results.put((name, asyncio.run(main())))


def test_processes_racing_to_create_a_key_exactly_one_wins_and_keeps_its_document(tmp_path: Path) -> None:
    data = tmp_path / "data"

    async def lay_out() -> None:
        async with TinyDBStore(data):
            pass

    asyncio.run(lay_out())
    context = multiprocessing.get_context("spawn")
    racers = {"owner": False, "guest-1": True, "guest-2": True}
    barrier = context.Barrier(len(racers))
    results = context.Queue()
    processes = [context.Process(target=race, args=(str(data), name, shared, barrier, results))
                 for name, shared in racers.items()]
    try:
        for process in processes:
            process.start()
        won = dict(results.get(timeout=120) for _ in processes)
        for process in processes:
            process.join(30)
            assert process.exitcode == 0
    finally:
        for process in processes:
            if process.is_alive():
                process.kill()
                process.join()
    assert set(won) == set(racers)

    async def stored() -> dict[str, Any]:
        async with TinyDBStore(data) as store:
            assert list((data / "tmp").iterdir()) == []
            return dict(await store.scan("audit_log"))

    docs = asyncio.run(stored())
    assert len(docs) == ROUNDS
    for i in range(ROUNDS):
        winners = [name for name in racers if won[name][i]]
        assert len(winners) == 1, f"round {i}: {winners or 'nobody'} created race-{i}"
        assert docs[f"race-{i}"] == {"by": winners[0], "i": i}
    assert len({name for name in racers if any(won[name])}) > 1  # a real race: the wins are shared out
