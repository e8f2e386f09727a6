"""The Store contract, run against every backend: add a backend by adding an entry to BACKENDS."""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from postgres_support import database_url, new_schema

from storage import MemoryStore, Store, StoreError, TinyDBStore
from storage.postgres_store import PostgresStore


def postgres(tmp: Path) -> Store:
    return PostgresStore(database_url(), schema=new_schema())


def sealed(tmp: Path) -> Store:
    """The embedded store behind encryption at rest (what a deployment runs)."""
    from storage.keys import Keyring, new_key
    from storage.sealed import SealedStore

    return SealedStore(TinyDBStore(tmp / "data"), TinyDBStore(tmp / "data-keys"),
                       Keyring.from_text(new_key(), "BOT_MASTER_KEY"))


BACKENDS: dict[str, Callable[[Path], Store]] = {
    "memory": lambda tmp: MemoryStore(),
    "tinydb": lambda tmp: TinyDBStore(tmp / "data"),
    "postgres": postgres,
    "sealed": sealed,
}

NESTED = {
    "title": "Ünïcødé ✓ 😀 — «quotes» \"double\" \\ back\n newline\t tab \x00 nul",
    "child": {"name": "Zoë Ó'Brien", "age": 7, "flags": [True, False, None], "score": 1.5},
    "history": [{"at": "2026-01-01T09:00:00Z", "level": 1, "notes": ["a", "b"]}, {"deep": {"deeper": {}}}],
    "big": 2**62,
    "negative": -3,
    "empty": "",
    "list": [],
}


@pytest.fixture(params=sorted(BACKENDS))
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    backend = BACKENDS[request.param](tmp_path)
    await backend.open()
    yield backend
    if isinstance(backend, PostgresStore):  # (its throwaway schema)
        with contextlib.suppress(StoreError):
            await backend.open()
        await backend.drop()
    await backend.close()


async def test_get_missing_is_none(store: Store) -> None:
    assert await store.get("cases", "nope") is None


async def test_put_get_round_trips_unicode_and_nesting(store: Store) -> None:
    await store.put("cases", "ESC-2026-0001", NESTED)
    assert await store.get("cases", "ESC-2026-0001") == NESTED


async def test_text_with_a_lone_surrogate_is_kept_as_given(store: Store) -> None:
    """A client may send half an emoji (a lone surrogate) in a display name: every backend keeps it, so that
    person's every turn does not fail."""
    doc = {"name": "Jo \ud83d", "also": "\udc00 ok", "normal": "Zoë 👍"}
    await store.put("people", "p1", doc)
    assert await store.get("people", "p1") == doc
    assert await store.create("people", "p2", doc) is True
    assert await store.get("people", "p2") == doc
    assert (await store.update("people", "p1", lambda d: {**(d or {}), "n": 1}))["name"] == "Jo \ud83d"
    assert await store.get("people", "p1") == {**doc, "n": 1}


async def test_delete_if_removes_only_when_the_check_holds(store: Store) -> None:
    await store.put("dialogs", "d1", {"touched_at": "2026-01-01"})
    assert await store.delete_if("dialogs", "d1", lambda d: d["touched_at"] < "2025-01-01") is False
    assert await store.get("dialogs", "d1") == {"touched_at": "2026-01-01"}
    assert await store.delete_if("dialogs", "d1", lambda d: d["touched_at"] < "2027-01-01") is True
    assert await store.get("dialogs", "d1") is None
    assert await store.delete_if("dialogs", "d1", lambda d: True) is False  # absent


async def test_delete_if_never_removes_what_an_update_wrote_meanwhile(store: Store) -> None:
    await store.put("dialogs", "d2", {"touched_at": "2020-01-01"})
    stale = lambda d: d["touched_at"] < "2025-01-01"  # noqa: E731
    fresh = store.update("dialogs", "d2", lambda d: {**(d or {}), "touched_at": "2026-11-24"})
    await asyncio.gather(store.delete_if("dialogs", "d2", stale), fresh)
    assert await store.get("dialogs", "d2") == {"touched_at": "2026-11-24"}  # whichever ran first


async def test_put_replaces(store: Store) -> None:
    await store.put("cases", "k", {"v": 1, "old": True})
    await store.put("cases", "k", {"v": 2})
    assert await store.get("cases", "k") == {"v": 2}


async def test_documents_are_copied_in_and_out(store: Store) -> None:
    doc = {"list": [1]}
    await store.put("cases", "k", doc)
    doc["list"].append(2)
    got = await store.get("cases", "k")
    assert got == {"list": [1]}
    got["list"].append(3)
    assert await store.get("cases", "k") == {"list": [1]}


async def test_collections_are_separate(store: Store) -> None:
    await store.put("cases", "k", {"c": "cases"})
    await store.put("dialogs", "k", {"c": "dialogs"})
    assert await store.get("cases", "k") == {"c": "cases"}
    assert await store.get("dialogs", "k") == {"c": "dialogs"}
    assert await store.keys("jobs") == []


async def test_create_only_if_absent(store: Store) -> None:
    assert await store.create("cases", "k", {"v": 1}) is True
    assert await store.create("cases", "k", {"v": 2}) is False
    assert await store.get("cases", "k") == {"v": 1}


async def test_update_absent_gets_none_and_stores_result(store: Store) -> None:
    seen: list[object] = []

    def fn(doc: dict | None) -> dict:
        seen.append(doc)
        return {"n": 1}

    assert await store.update("cases", "k", fn) == {"n": 1}
    assert seen == [None]
    assert await store.update("cases", "k", lambda d: {**(d or {}), "n": d["n"] + 1 if d else 0}) == {"n": 2}
    assert await store.get("cases", "k") == {"n": 2}


async def test_update_if_free_is_an_update_when_nobody_else_writes_the_key(store: Store) -> None:
    assert await store.update_if_free("cases", "k", lambda d: {"n": 1 if d is None else -1}) == {"n": 1}
    assert await store.update_if_free("cases", "k", lambda d: {"n": d["n"] + 1}) == {"n": 2}
    assert await store.get("cases", "k") == {"n": 2}
    def absent(doc: dict | None) -> dict:
        raise KeyError("absent")

    with pytest.raises(KeyError):
        await store.update_if_free("cases", "absent", absent)
    assert await store.get("cases", "absent") is None


def _chained(place: int, before: dict | None) -> tuple[dict, dict]:
    return {"n": place, "after": None if before is None else before["n"]}, {"seq": place}


async def test_append_chains_every_entry_after_the_one_before_and_never_overwrites(store: Store) -> None:
    def key(place: int) -> str:
        return f"e{place:05d}"

    places = await asyncio.gather(*(store.append("audit_log", ("meta", "head"), key, _chained) for _ in range(30)))
    assert sorted(places) == list(range(1, 31))
    for place in range(1, 31):
        assert await store.get("audit_log", key(place)) == {"n": place, "after": place - 1 if place > 1 else None}
    assert await store.get("meta", "head") == {"seq": 30}
    await store.create("audit_log", key(31), {"n": 31, "after": 30})  # (another writer's entry, its head not yet moved)
    assert await store.append("audit_log", ("meta", "head"), key, _chained) == 32
    assert await store.get("audit_log", key(32)) == {"n": 32, "after": 31}
    assert await store.get("meta", "head") == {"seq": 32}


async def test_update_that_raises_changes_nothing(store: Store) -> None:
    await store.put("cases", "k", {"n": 1})

    def boom(doc: dict | None) -> dict:
        assert doc is not None
        doc["n"] = 99  # mutating the argument must not leak into the store
        raise RuntimeError("no")

    with pytest.raises(RuntimeError):
        await store.update("cases", "k", boom)
    assert await store.get("cases", "k") == {"n": 1}
    with pytest.raises(RuntimeError):
        await store.update("cases", "absent", boom_absent)
    assert await store.get("cases", "absent") is None


def boom_absent(doc: dict | None) -> dict:
    raise RuntimeError("no")


async def test_update_must_return_a_dict(store: Store) -> None:
    await store.put("cases", "k", {"n": 1})
    with pytest.raises(TypeError):
        await store.update("cases", "k", lambda d: ["not", "a", "dict"])  # type: ignore[arg-type,return-value]
    assert await store.get("cases", "k") == {"n": 1}


async def test_fifty_concurrent_updates_are_all_kept(store: Store) -> None:
    await store.put("cases", "counter", {"n": 0})
    await asyncio.gather(*(store.update("cases", "counter", lambda d: {"n": d["n"] + 1}) for _ in range(50)))
    assert await store.get("cases", "counter") == {"n": 50}


async def test_concurrent_updates_of_absent_key(store: Store) -> None:
    results = await asyncio.gather(
        *(store.update("cases", "new", lambda d: {"n": (d or {"n": 0})["n"] + 1}) for _ in range(20))
    )
    assert sorted(r["n"] for r in results) == list(range(1, 21))


async def test_delete(store: Store) -> None:
    await store.put("cases", "k", {"v": 1})
    assert await store.delete("cases", "k") is True
    assert await store.delete("cases", "k") is False
    assert await store.get("cases", "k") is None
    assert await store.keys("cases") == []
    assert await store.create("cases", "k", {"v": 2}) is True


async def test_keys_and_scan(store: Store) -> None:
    docs = {f"key-{i}": {"i": i, "name": f"Ñame {i}"} for i in range(30)}
    for key, doc in docs.items():
        await store.put("cases", key, doc)
    await store.put("other", "x", {"i": -1})
    assert sorted(await store.keys("cases")) == sorted(docs)
    assert dict(await store.scan("cases")) == docs
    assert len(await store.scan("cases")) == 30
    assert await store.scan("empty") == []


async def test_next_sequence_counts_per_name(store: Store) -> None:
    assert [await store.next_sequence("cases") for _ in range(3)] == [1, 2, 3]
    assert await store.next_sequence("jobs") == 1
    assert await store.next_sequence("cases") == 4


async def test_concurrent_next_sequence_is_unique(store: Store) -> None:
    numbers = await asyncio.gather(*(store.next_sequence("cases") for _ in range(50)))
    assert sorted(numbers) == list(range(1, 51))


@pytest.mark.parametrize("bad", [{"s": {1, 2}}, {"o": object()}, {"nan": math.nan}, ["list"], "text"])
async def test_non_json_documents_are_rejected(store: Store, bad: object) -> None:
    with pytest.raises((TypeError, ValueError)):
        await store.put("cases", "k", bad)  # type: ignore[arg-type]
    assert await store.get("cases", "k") is None


BAD_NAMES = [("", "k"), ("Cases", "k"), ("a/b", "k"), ("..", "k"), ("tmp", "k"), ("c", "")]


@pytest.mark.parametrize(("collection", "key"), BAD_NAMES)
async def test_bad_names_are_rejected(store: Store, collection: str, key: str) -> None:
    with pytest.raises(ValueError):
        await store.put(collection, key, {})
    with pytest.raises(ValueError):
        await store.get(collection, key)


async def test_closed_store_refuses_and_close_is_idempotent(store: Store) -> None:
    await store.close()
    await store.close()
    with pytest.raises(StoreError):
        await store.get("cases", "k")
    with pytest.raises(StoreError):
        await store.put("cases", "k", {})
    await store.open()  # the fixture closes it again


async def test_async_context_manager(tmp_path: Path) -> None:
    for make in BACKENDS.values():
        async with make(tmp_path) as opened:  # type: ignore[attr-defined]
            await opened.put("cases", "k", {"v": 1})
            assert await opened.get("cases", "k") == {"v": 1}
        with pytest.raises(StoreError):
            await opened.get("cases", "k")
        if isinstance(opened, PostgresStore):
            async with opened:
                await opened.drop()


async def test_select_finds_documents_by_their_top_level_fields(store: Store) -> None:
    await store.put("cases", "open-1", {"status": "open", "closed_at": None, "open_duties": 0})
    await store.put("cases", "closed-old", {"status": "resolved", "closed_at": "2025-01-10T09:00:00", "open_duties": 0})
    await store.put("cases", "closed-new", {"status": "resolved", "closed_at": "2026-11-20T09:00:00", "open_duties": 0})
    await store.put("cases", "closed-owing", {"status": "resolved", "closed_at": "2024-03-01T09:00:00",
                                              "open_duties": 3})
    await store.put("cases", "no-field", {"status": "open"})
    await store.put("cases", "odd", {"status": "open", "closed_at": 5, "open_duties": "2", "nul": "a\x00b"})
    await store.put("other", "x", {"status": "open"})
    wanted = [{"closed_at": ("missing", None)}, {"closed_at": (">=", "2026-01-01")}, {"open_duties": (">=", 1)}]
    assert sorted(k for k, _ in await store.select("cases", wanted)) == ["closed-new", "closed-owing", "no-field",
                                                                          "open-1"]
    both = [{"status": ("=", "resolved"), "open_duties": (">=", 1)}]
    assert [k for k, _ in await store.select("cases", both)] == ["closed-owing"]
    assert dict(await store.select("cases", [{"status": ("=", "open"), "closed_at": (">=", 1)}])) == {
        "odd": {"status": "open", "closed_at": 5, "open_duties": "2", "nul": "a\x00b"}}  # (numbers with numbers)
    assert await store.select("cases", []) == []
    with pytest.raises(ValueError):
        await store.select("cases", [{"status": ("like", "o%")}])


async def test_select_sees_updates_and_deletes(store: Store) -> None:
    await store.put("cases", "k", {"status": "open"})
    await store.update("cases", "k", lambda d: {**(d or {}), "status": "resolved"})
    assert await store.select("cases", [{"status": ("=", "open")}]) == []
    assert [k for k, _ in await store.select("cases", [{"status": ("=", "resolved")}])] == ["k"]
    await store.delete("cases", "k")
    assert await store.select("cases", [{"status": ("=", "resolved")}]) == []


async def test_batches_give_every_document_once_a_few_at_a_time(store: Store) -> None:
    docs = {f"case-{i:03d}": {"i": i} for i in range(23)}
    for key, doc in docs.items():
        await store.put("cases", key, doc)
    await store.put("other", "x", {"i": -1})
    seen: list[tuple[str, dict]] = []
    async for batch in store.batches("cases", size=5):
        assert 0 < len(batch) <= 5
        seen.extend(batch)
    assert dict(seen) == docs and len(seen) == len(docs)
    assert [batch async for batch in store.batches("empty")] == []
    cut = [pair async for batch in store.batches("cases", size=7, fields=("i", "absent")) for pair in batch]
    assert dict(cut) == {key: {"i": doc["i"]} for key, doc in docs.items()}
