"""The embedded store's `select` (what the weekly summary asks): after its first answer, the owner reads only the
records it returns, and what it answers is what reading every record would answer, whatever was written meanwhile,
even during that first reading."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

from storage import TinyDBStore
from storage.collections import AUDIT_LOG
from storage.common import matches
from storage.layout import record_path

OPEN_OR_RECENT = [{"closed_at": ("missing", None)}, {"closed_at": (">=", "2026-10-01")}, {"open_duties": (">=", 1)}]


def _case(n: int) -> dict:
    closed = None if n % 10 == 0 else f"20{19 + n % 7}-0{1 + n % 9}-15"
    return {"ref": f"ESC-{n:05d}", "closed_at": closed, "open_duties": 1 if n % 97 == 0 else 0, "notes": "x" * 50}


async def _truth(store: TinyDBStore, collection: str = "cases") -> list[tuple[str, dict]]:
    return sorted((k, d) for k, d in await store.scan(collection) if matches(d, OPEN_OR_RECENT))


async def test_after_the_first_select_only_the_matching_records_are_read(tmp_path: Path, monkeypatch) -> None:
    async with TinyDBStore(tmp_path / "data") as store:
        for n in range(300):
            await store.put("cases", f"ESC-{n:05d}", _case(n))
        first = await store.select("cases", OPEN_OR_RECENT)
        assert sorted(first) == await _truth(store) and len(first) == 30 + 3  # (every tenth open; 97, 194, 291)
        reads: list[str] = []
        original = store._get_sync
        monkeypatch.setattr(store, "_get_sync", lambda c, k: reads.append(k) or original(c, k))
        monkeypatch.setattr(store, "_checked_record", lambda *a: (_ for _ in ()).throw(AssertionError("full read")))
        again = await store.select("cases", OPEN_OR_RECENT)
        assert sorted(again) == sorted(first) and sorted(reads) == sorted(k for k, _ in first)


async def test_writes_and_deletes_after_and_during_the_first_reading_are_answered_right(tmp_path: Path,
                                                                                        monkeypatch) -> None:
    async with TinyDBStore(tmp_path / "data") as store:
        for n in range(200):
            await store.put("cases", f"ESC-{n:05d}", _case(n))
        read = store._checked_record
        watched = {record_path(store.path, "cases", k) for k in ("ESC-00199", "ESC-00190", "ESC-00180", "ESC-00001")}
        seen, go = threading.Event(), threading.Event()

        def reading(collection: str, path: Path):
            record = read(collection, path)
            if path in watched:  # (the first reading has these as they were: it waits while they are changed)
                watched.discard(path)
                if not watched:
                    seen.set()
                    go.wait(10)
            return record

        monkeypatch.setattr(store, "_checked_record", reading)
        building = asyncio.create_task(store.select("cases", OPEN_OR_RECENT))
        while not seen.is_set():
            await asyncio.sleep(0.001)
        # While the first select reads every record: one closed case reopened, one open case closed long ago, one
        # open case deleted, one new open case, one owing a duty now.
        await store.update("cases", "ESC-00199", lambda d: {**d, "closed_at": None})
        await store.update("cases", "ESC-00190", lambda d: {**d, "closed_at": "2019-01-01"})
        await store.delete("cases", "ESC-00180")
        await store.put("cases", "ESC-99999", {"ref": "ESC-99999", "closed_at": None})
        await store.update("cases", "ESC-00001", lambda d: {**d, "open_duties": 2})
        go.set()
        await building
        truth = await _truth(store)
        assert sorted(await store.select("cases", OPEN_OR_RECENT)) == truth
        assert {"ESC-00199", "ESC-99999", "ESC-00001"} <= {k for k, _ in truth}
        assert not {"ESC-00190", "ESC-00180"} & {k for k, _ in truth}
        await store.update("cases", "ESC-00199", lambda d: {**d, "closed_at": "2020-02-02"})
        assert "ESC-00199" not in {k for k, _ in await store.select("cases", OPEN_OR_RECENT)}


async def test_a_select_on_other_fields_and_a_reopened_store_still_answer_from_the_records(tmp_path: Path) -> None:
    data = tmp_path / "data"
    async with TinyDBStore(data) as store:
        for n in range(50):
            await store.put("cases", f"ESC-{n:05d}", _case(n))
        await store.select("cases", OPEN_OR_RECENT)
        by_ref = await store.select("cases", [{"ref": ("=", "ESC-00007")}])
        assert [k for k, _ in by_ref] == ["ESC-00007"]
    from storage.atomic import write_record

    # Changed while the store was closed (a restore from backup): the next owner reads the records afresh.
    write_record(record_path(data, "cases", "ESC-00007"), data / "tmp", "ESC-00007",
                 {"ref": "ESC-00007", "closed_at": None}, None)
    async with TinyDBStore(data) as store:
        assert "ESC-00007" in {k for k, _ in await store.select("cases", OPEN_OR_RECENT)}


async def test_audit_entries_a_guest_wrote_beside_the_owner_are_selected_by_the_owner(tmp_path: Path) -> None:
    data = tmp_path / "data"
    async with TinyDBStore(data) as owner:
        await owner.put(AUDIT_LOG, "a1", {"at": "2026-12-01"})
        assert len(await owner.select(AUDIT_LOG, [{"at": (">=", "2026-01-01")}])) == 1
        async with TinyDBStore(data, shared=True) as guest:
            assert await guest.create(AUDIT_LOG, "a2", {"at": "2026-12-02"})
        assert sorted(k for k, _ in await owner.select(AUDIT_LOG, [{"at": (">=", "2026-01-01")}])) == ["a1", "a2"]
