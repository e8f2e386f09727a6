"""Encryption at rest (storage.sealed): what a stolen disk or backup of the data folder shows, what an altered record
does, what a wrong or missing master key does, what a purge leaves readable, and a rotation of the master key."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from storage import StoreError, TinyDBStore
from storage.keys import Keyring, KeyringError, key_id, new_key, parse_key, write_key_file
from storage.sealed import DATA_KEYS, SealedStore

CANARY = "Tallulah Quenby-Marsh"
CASE = {"ref": "ESC-2026-0001", "status": "open", "policy": "surrey", "closed_at": None,
        "child": {"child_name": CANARY, "child_dob": "2015-02-03", "child_address": "7 Canary Row, Northshire"},
        "details": {"disputed": f"The decision about {CANARY} to close"},
        "stages": [{"stage": 1, "reason": f"Still worried about {CANARY}"}],
        "outcome": {"text": f"Plan agreed for {CANARY}"},
        "events": [{"at": "2026-11-23T10:00:00+00:00", "by": "console:a@x", "action": "opened", "detail": "Stage 1"}]}


def ring(*keys: str) -> Keyring:
    return Keyring.from_text(",".join(keys), "BOT_MASTER_KEY")


def sealed(tmp: Path, keyring: Keyring, data: str = "data") -> SealedStore:
    return SealedStore(TinyDBStore(tmp / data), TinyDBStore(tmp / f"{data}-keys"), keyring)


def raw_bytes(folder: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file())


async def test_a_case_is_read_back_whole_but_its_child_details_and_typed_text_are_not_in_the_files(tmp_path) -> None:
    async with sealed(tmp_path, ring(new_key())) as store:
        await store.create("cases", CASE["ref"], CASE)
        await store.update("cases", CASE["ref"], lambda c: {**c, "status": "resolved", "closed_at": "2026-12-01"})
        await store.put("dialogs", "console:a@x", {"answers": {"child_name": CANARY}, "touched_at": "2026-12-01"})
        await store.put("inbox", "V1", {"event": {"form": {"child_name": CANARY}}, "status": "waiting"})
        await store.put("outbox", "m1", {"reply": {"text": f"record of {CANARY}"}, "status": "due"})
        got = await store.get("cases", CASE["ref"])
        assert got == {**CASE, "status": "resolved", "closed_at": "2026-12-01"}
        assert (await store.get("dialogs", "console:a@x"))["answers"] == {"child_name": CANARY}
        assert [k for k, _ in await store.select("cases", [{"status": ("=", "resolved")}])] == [CASE["ref"]]
    files = raw_bytes(tmp_path / "data")
    for secret in (CANARY, "Quenby", "2015-02-03", "Canary Row", "Plan agreed", "Still worried"):
        assert secret.encode() not in files, secret
    assert b"ESC-2026-0001" in files and b'"resolved"' in files  # (what the bot builds stays findable)
    assert CANARY.encode() not in raw_bytes(tmp_path / "data-keys")


async def test_an_altered_or_moved_sealed_field_does_not_open(tmp_path) -> None:
    async with sealed(tmp_path, ring(new_key())) as store:
        await store.create("cases", "ESC-2026-0001", CASE)
        await store.create("cases", "ESC-2026-0002", {**CASE, "ref": "ESC-2026-0002"})
        inner = store.inner
        first = await inner.get("cases", "ESC-2026-0001")
        second = await inner.get("cases", "ESC-2026-0002")
        await inner.put("cases", "ESC-2026-0002", {**second, "child": first["child"]})  # (moved between cases)
        with pytest.raises(StoreError, match="ESC-2026-0002 field 'child' does not open"):
            await store.get("cases", "ESC-2026-0002")
        await inner.put("cases", "ESC-2026-0001", {**first, "details": first["child"]})  # (moved between fields)
        with pytest.raises(StoreError, match="field 'details' does not open"):
            await store.get("cases", "ESC-2026-0001")
        bits = first["outcome"]["v"]
        flipped = bits[:10] + ("A" if bits[10] != "A" else "B") + bits[11:]
        await inner.put("cases", "ESC-2026-0001", {**first, "outcome": {**first["outcome"], "v": flipped}})
        with pytest.raises(StoreError, match="field 'outcome' does not open"):
            await store.get("cases", "ESC-2026-0001")


async def test_a_wrong_or_missing_master_key_stops_the_open_with_one_line_and_reads_nothing(tmp_path) -> None:
    right = new_key()
    async with sealed(tmp_path, ring(right)) as store:
        await store.create("cases", CASE["ref"], CASE)
    wrong = ring(new_key())
    store = sealed(tmp_path, wrong)
    with pytest.raises(KeyringError) as refused:
        await store.open()
    message = str(refused.value)
    assert "\n" not in message and key_id(parse_key(right, "k")) in message and right not in message
    assert "BOT_MASTER_KEY does not hold master key" in message
    async with sealed(tmp_path, ring(right)) as store:  # (nothing was left open or changed by the refusal)
        assert (await store.get("cases", CASE["ref"]))["child"]["child_name"] == CANARY


async def test_a_purged_case_cannot_be_read_from_a_copy_of_the_data_folder_taken_before(tmp_path) -> None:
    keys = ring(new_key())
    async with sealed(tmp_path, keys) as store:
        await store.create("cases", CASE["ref"], CASE)
        await store.create("cases", "ESC-2026-0002", {**CASE, "ref": "ESC-2026-0002"})
    shutil.copytree(tmp_path / "data", tmp_path / "backup")  # (last night's backup of the data folder)
    async with sealed(tmp_path, keys) as store:
        assert await store.delete("cases", CASE["ref"])
        assert await store.destroy_case_key(CASE["ref"])
    async with SealedStore(TinyDBStore(tmp_path / "backup"), TinyDBStore(tmp_path / "data-keys"), keys) as old:
        with pytest.raises(StoreError, match=r"its data key \(case:ESC-2026-0001\) has been destroyed"):
            await old.get("cases", CASE["ref"])
        assert (await old.get("cases", "ESC-2026-0002"))["child"]["child_name"] == CANARY  # (others still open)


async def test_records_written_before_sealing_are_read_and_sealed_once(tmp_path) -> None:
    async with TinyDBStore(tmp_path / "data") as plain:
        await plain.put("cases", CASE["ref"], CASE)
        await plain.put("dialogs", "console:a@x", {"answers": {"child_name": CANARY}, "touched_at": "2026-12-01"})
    async with sealed(tmp_path, ring(new_key())) as store:
        assert await store.get("cases", CASE["ref"]) == CASE
        assert await store.seal_existing() == 2
        assert await store.seal_existing() == 0
        assert await store.get("cases", CASE["ref"]) == CASE
    assert CANARY.encode() not in raw_bytes(tmp_path / "data")


async def test_a_dialog_sealed_on_an_earlier_day_is_updated_today(tmp_path, monkeypatch) -> None:
    import storage.sealed as sealing

    async with sealed(tmp_path, ring(new_key())) as store:
        real = sealing.scope_of
        monkeypatch.setattr(sealing, "scope_of", lambda c, k: "day:dialogs:2026-12-01")
        await store.put("dialogs", "console:a@x", {"answers": {"child_name": CANARY}, "touched_at": "2026-12-01"})
        monkeypatch.setattr(sealing, "scope_of", real)
        store._keys.clear()  # (a process started since: yesterday's key is not in hand)
        new = await store.update("dialogs", "console:a@x", lambda d: {**d, "answers": {**d["answers"], "x": 1}})
        assert new["answers"] == {"child_name": CANARY, "x": 1}
        assert (await store.get("dialogs", "console:a@x"))["answers"]["x"] == 1


async def test_the_master_key_is_rotated_while_the_store_is_in_use(tmp_path) -> None:
    key_file = tmp_path / "master.key"
    first = write_key_file(key_file)
    keys = Keyring.from_file(key_file)
    async with sealed(tmp_path, keys) as store:
        for n in range(1, 8):
            await store.create("cases", f"ESC-2026-{n:04d}", {**CASE, "ref": f"ESC-2026-{n:04d}"})
        second = write_key_file(key_file)  # (the operator adds a new first line; the old one stays below)
        assert await store.refresh_keys() and keys.current == second
        await store.create("cases", "ESC-2026-0008", {**CASE, "ref": "ESC-2026-0008"})  # (under the new key)
        assert (await store.key_status())["in_use"] == {first: 7, second: 1}
        assert await store.rewrap(limit=5) == 5
        assert await store.rewrap(limit=5) == 2
        assert (await store.key_status())["in_use"] == {second: 8}
        for n in range(1, 9):
            assert (await store.get("cases", f"ESC-2026-{n:04d}"))["child"]["child_name"] == CANARY
    key_file.write_text(key_file.read_text().splitlines()[0] + "\n")  # (the old key removed)
    async with sealed(tmp_path, Keyring.from_file(key_file)) as store:
        assert len(await store.scan("cases")) == 8
        assert await store.keystore.get(DATA_KEYS, f"check:{first}") is None


async def test_an_old_key_removed_before_the_rewrap_finished_is_named_at_start(tmp_path) -> None:
    key_file = tmp_path / "master.key"
    first = write_key_file(key_file)
    async with sealed(tmp_path, Keyring.from_file(key_file)) as store:
        await store.create("cases", CASE["ref"], CASE)
    write_key_file(key_file)
    key_file.write_text(key_file.read_text().splitlines()[0] + "\n")
    with pytest.raises(KeyringError, match=f"does not hold master key {first}"):
        await sealed(tmp_path, Keyring.from_file(key_file)).open()


def test_key_files_and_settings_are_checked(tmp_path) -> None:
    path = tmp_path / "master.key"
    write_key_file(path)
    assert path.stat().st_mode & 0o777 == 0o600
    path.chmod(0o644)
    with pytest.raises(KeyringError, match="can be read by others"):
        Keyring.from_file(path)
    with pytest.raises(KeyringError, match="does not exist"):
        Keyring.from_file(tmp_path / "absent.key")
    with pytest.raises(KeyringError, match="not a key"):
        Keyring.from_text("not base64 at all!", "BOT_MASTER_KEY")
    with pytest.raises(KeyringError, match="is 16 bytes"):
        Keyring.from_text("AAAAAAAAAAAAAAAAAAAAAA==", "BOT_MASTER_KEY")
    with pytest.raises(KeyringError, match="holds no key"):
        Keyring.from_text("# nothing\n", "BOT_MASTER_KEY")


async def test_an_update_changing_a_sealed_field_in_place_is_kept(tmp_path) -> None:
    """A change made inside a sealed field (a nested value edited in place) is sealed again, never lost; a field
    left as it was keeps its sealing."""
    async with sealed(tmp_path, ring(new_key())) as store:
        await store.create("cases", CASE["ref"], CASE)
        before = await store.inner.get("cases", CASE["ref"])

        def edit(case):
            case["details"]["disputed"] = "changed in place"
            return case

        await store.update("cases", CASE["ref"], edit)
        after = await store.inner.get("cases", CASE["ref"])
        assert (await store.get("cases", CASE["ref"]))["details"]["disputed"] == "changed in place"
        assert after["details"] != before["details"] and after["child"] == before["child"]


async def test_an_export_of_fields_in_the_clear_opens_nothing(tmp_path, monkeypatch) -> None:
    """The audit export reads the cases' events a batch at a time: no data key is fetched or opened for that."""
    async with sealed(tmp_path, ring(new_key())) as store:
        for n in range(1, 6):
            await store.create("cases", f"ESC-2026-{n:04d}", {**CASE, "ref": f"ESC-2026-{n:04d}"})
        store._keys.clear()
        monkeypatch.setattr(store, "_data_key", lambda *a, **k: (_ for _ in ()).throw(AssertionError("opened")))
        rows = [doc async for batch in store.batches("cases", fields=("ref", "events")) for _, doc in batch]
        assert [r["ref"] for r in rows] == [f"ESC-2026-{n:04d}" for n in range(1, 6)]
        assert all(set(r) == {"ref", "events"} for r in rows)


async def test_an_update_refused_for_a_record_that_is_not_there_makes_no_data_key(tmp_path) -> None:
    async with sealed(tmp_path, ring(new_key())) as store:
        def only_if_there(doc):
            if doc is None:
                raise KeyError("ESC-2026-7777")
            return doc

        with pytest.raises(KeyError):
            await store.update("cases", "ESC-2026-7777", only_if_there)
        assert await store.keystore.get(DATA_KEYS, "case:ESC-2026-7777") is None
        made = await store.update("cases", "ESC-2026-0001", lambda doc: {**CASE, "n": 1} if doc is None else doc)
        assert made["n"] == 1 and await store.keystore.get(DATA_KEYS, "case:ESC-2026-0001") is not None
