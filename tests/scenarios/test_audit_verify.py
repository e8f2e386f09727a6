"""`python -m bot audit verify` over a deployment's data folder: intact after real work (cases opened, escalated,
resolved, purged), and each kind of offline edit of a copy of the folder is named and makes it exit non-zero."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest
from scenario_kit import CHRIS, EMMA, JORDAN, LENA, LUCY, OPENING, World

from bot.config import deployment_store, read_settings
from bot.dates.workdays import LONDON
from storage.tinydb_store import TinyDBStore

ROOT = Path(__file__).resolve().parents[2]


def verify(data: Path) -> subprocess.CompletedProcess[str]:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(data.parent)}
    return subprocess.run([sys.executable, "-m", "bot", "audit", "verify", "--data", str(data)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)


@pytest.fixture(scope="module")
def worked(tmp_path_factory, all_policies) -> tuple[Path, list[str]]:
    """A data folder after real work in March 2024 (old enough to purge under a one-year retention): three Surrey
    cases, one resolved, one looked at by the other agency; an export's audit entry."""
    from bot.dates.clock import FixedClock
    from bot.records.audit import log_event

    data = tmp_path_factory.mktemp("verify") / "data"

    async def work() -> list[str]:
        async with deployment_store(read_settings({}), data) as store:
            world = World(store, {"surrey": all_policies["surrey"]}, FixedClock(datetime(2024, 3, 4, 10,
                                                                                        tzinfo=LONDON)))
            refs = [(await world.person(who).escalate(**OPENING)).case_ref for who in (EMMA, JORDAN, LUCY)]
            assert len(set(refs)) == 3 and all(refs), refs
            resolved = await world.resolve(LENA, refs[1])
            assert "is resolved" in resolved.text, resolved.text
            await world.act(CHRIS, "status", refs[2])
            await log_event(store, {"at": "2026-11-23T11:00:00+00:00", "by": "cli:ops", "action": "exported",
                                    "ref": refs[0], "detail": "docx record"})
            return refs

    return data, asyncio.run(work())


def copy_of(worked: tuple[Path, list[str]], tmp_path: Path) -> Path:
    data, _ = worked
    copy = tmp_path / "data"
    shutil.copytree(data, copy)
    shutil.copytree(data.with_name("data-keys"), tmp_path / "data-keys")
    return copy


def edit(data: Path, change) -> None:
    """An offline edit of the folder's record files (as someone with a copy and a text editor would make)."""
    async def run() -> None:
        async with TinyDBStore(data) as raw:
            await change(raw)

    asyncio.run(run())


def test_a_folder_after_real_work_verifies(worked) -> None:
    data, _ = worked
    done = verify(data)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith("Audit trail intact:") and "3 case(s)" in done.stdout


def test_an_event_whose_actor_was_forged_is_named(worked, tmp_path) -> None:
    data, refs = copy_of(worked, tmp_path), worked[1]

    async def forge(raw: TinyDBStore) -> None:
        case = await raw.get("cases", refs[0])
        case["events"][0]["by"] = "slack:UFORGED"
        await raw.put("cases", refs[0], case)

    edit(data, forge)
    done = verify(data)
    assert done.returncode == 1
    assert f"Audit trail BROKEN: case {refs[0]} event 1 (" in done.stdout and "was changed" in done.stdout


def test_the_last_event_removed_is_named(worked, tmp_path) -> None:
    data, refs = copy_of(worked, tmp_path), worked[1]

    async def drop_last(raw: TinyDBStore) -> None:
        case = await raw.get("cases", refs[1])
        count = len(case["events"])
        case["events"] = case["events"][:-1]
        await raw.put("cases", refs[1], case)
        assert count > 1

    edit(data, drop_last)
    done = verify(data)
    assert done.returncode == 1 and f"case {refs[1]}: events" in done.stdout and "removed from the end" in done.stdout


def test_events_reordered_are_named(worked, tmp_path) -> None:
    data, refs = copy_of(worked, tmp_path), worked[1]

    async def swap(raw: TinyDBStore) -> None:
        case = await raw.get("cases", refs[1])
        case["events"][0], case["events"][1] = case["events"][1], case["events"][0]
        await raw.put("cases", refs[1], case)

    edit(data, swap)
    done = verify(data)
    assert done.returncode == 1 and f"case {refs[1]} event 1" in done.stdout


def test_an_audit_log_entry_deleted_changed_or_cut_from_the_end_is_named(worked, tmp_path) -> None:
    data = copy_of(worked, tmp_path)
    entries = sorted(k for k in asyncio.run(_keys(data, "audit_log")) if k.startswith("chain-"))
    assert len(entries) >= 4  # (three openings and an export, at least)

    edit(data, lambda raw: raw.delete("audit_log", entries[1]))
    done = verify(data)
    assert done.returncode == 1 and "audit-log entries 2-2 were removed" in done.stdout

    data = copy_of(worked, tmp_path / "second")

    async def reword(raw: TinyDBStore) -> None:
        entry = await raw.get("audit_log", entries[-1])
        await raw.put("audit_log", entries[-1], {**entry, "by": "cli:someone-else"})

    edit(data, reword)
    done = verify(data)
    assert done.returncode == 1 and f"audit-log entry {len(entries)} (" in done.stdout and "was changed" in done.stdout

    data = copy_of(worked, tmp_path / "third")
    edit(data, lambda raw: raw.delete("audit_log", entries[-1]))
    done = verify(data)
    assert done.returncode == 1 and f"entries {len(entries)}-{len(entries)} were removed from the end" in done.stdout


def test_a_case_removed_by_anything_but_a_purge_is_named(worked, tmp_path) -> None:
    data, refs = copy_of(worked, tmp_path), worked[1]
    edit(data, lambda raw: raw.delete("cases", refs[2]))
    done = verify(data)
    assert done.returncode == 1 and f"case {refs[2]} (opened: audit-log entry" in done.stdout
    assert "no purge removed it" in done.stdout


def test_the_trail_still_verifies_after_a_purge_and_the_check_is_audited(worked, tmp_path, all_policies) -> None:
    data, refs = copy_of(worked, tmp_path), worked[1]
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path), "BOT_RETENTION_YEARS": "1"}

    purged = subprocess.run([sys.executable, "-m", "bot", "purge", "--yes", "--data", str(data)], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=60)
    assert purged.returncode == 0 and refs[1] in purged.stdout, purged.stdout + purged.stderr
    done = verify(data)
    assert done.returncode == 0, done.stdout
    trail = asyncio.run(_docs(data, "audit_log"))
    assert [e["action"] for e in trail][-2:] == ["purged", "audit_verified"]


async def _keys(data: Path, collection: str) -> list[str]:
    async with TinyDBStore(data) as raw:
        return await raw.keys(collection)


async def _docs(data: Path, collection: str) -> list[dict]:
    async with TinyDBStore(data) as raw:
        return [doc for _, doc in sorted(await raw.scan(collection))]


def test_the_head_is_printed_to_be_kept_elsewhere(worked) -> None:
    done = verify(worked[0])
    assert done.returncode == 0 and re.search(r"^Head: entry \d+, link [0-9a-f]{64} ", done.stdout, re.M), done.stdout


def test_a_chain_key_removed_from_the_key_store_is_named_and_never_replaced(worked, tmp_path) -> None:
    data = copy_of(worked, tmp_path)
    edit(data.with_name("data-keys"), lambda raw: raw.delete("data_keys", "audit-chain"))
    done = verify(data)
    assert done.returncode != 0 and "chain's key is missing" in done.stderr + done.stdout
    assert len((done.stderr + done.stdout).strip().splitlines()) == 1
    assert asyncio.run(_keys(data.with_name("data-keys"), "data_keys")).count("audit-chain") == 0  # (none made)


def test_a_case_stripped_of_its_chain_is_named_even_with_the_mark_of_the_upgrade_gone(worked, tmp_path) -> None:
    data, refs = copy_of(worked, tmp_path), worked[1]

    async def strip(raw: TinyDBStore) -> None:
        case = await raw.get("cases", refs[0])
        case["events"] = [{k: v for k, v in e.items() if k != "mac"} | {"by": "slack:UFORGED"} for e in
                          case["events"]]
        del case["trail"]
        await raw.put("cases", refs[0], case)
        await raw.delete("meta", "trails-chained")

    edit(data, strip)
    done = verify(data)
    assert done.returncode == 1 and f"case {refs[0]} has lost its chain of events" in done.stdout


def test_operators_commands_on_a_store_from_before_chains_raise_no_false_alarm(tmp_path) -> None:
    """Upgraded, not yet started: an operator's audit run has no key to chain with, so its entry is kept as entries
    were before; the chain begins with the bot's first entry, and the whole trail verifies."""
    data = tmp_path / "data"

    async def older() -> None:
        async with TinyDBStore(data) as raw:
            await raw.put("audit_log", "audit_exported:2026-01-05T10:00:00+00:00:", {
                "at": "2026-01-05T10:00:00+00:00", "by": "cli:ops", "action": "audit_exported", "detail": "csv"})

    asyncio.run(older())
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path)}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "bot", *args, "--data", str(data)], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=60)

    assert run("audit", "--format", "csv").returncode == 0
    assert not data.with_name("data-keys").exists()  # (a read makes no key)
    assert run("tick", "--now", datetime.now(LONDON).replace(microsecond=0).isoformat()).returncode == 0
    done = verify(data)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "not covered (stored before chains were kept): 2 audit-log entries" in done.stdout


def purge(data: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path), "BOT_RETENTION_YEARS": "1"}
    return subprocess.run([sys.executable, "-m", "bot", "purge", "--yes", "--data", str(data)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)


def test_an_open_case_made_to_look_closed_long_ago_is_not_purged(worked, tmp_path) -> None:
    """Retention goes by what the case's chained events say, not by fields anyone with the files could edit."""
    data, refs = copy_of(worked, tmp_path), worked[1]
    edit(data, lambda raw: raw.update("cases", refs[0], lambda c: {**c, "status": "resolved",
                                                                    "closed_at": "2020-01-01T10:00:00+00:00"}))
    done = purge(data, tmp_path)
    assert done.returncode == 0 and f"Kept, not removed: {refs[0]} (its events do not say it was closed" in \
        done.stdout, done.stdout
    assert refs[0] in asyncio.run(_keys(data, "cases"))


def test_a_hold_taken_off_the_record_still_keeps_the_case(worked, tmp_path) -> None:
    data, refs = copy_of(worked, tmp_path), worked[1]
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path)}
    held = subprocess.run([sys.executable, "-m", "bot", "hold", refs[1], "--reason", "Matter 123", "--data",
                           str(data)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert held.returncode == 0, held.stderr

    async def unhold(raw: TinyDBStore) -> None:
        await raw.update("cases", refs[1], lambda c: {k: v for k, v in c.items() if k != "hold"})

    edit(data, unhold)
    done = purge(data, tmp_path)
    assert done.returncode == 0 and f"Held, not removed: {refs[1]} (legal hold since" in done.stdout, done.stdout
    assert refs[1] in asyncio.run(_keys(data, "cases"))


def test_a_closed_case_whose_events_were_changed_is_kept_for_the_audit(worked, tmp_path) -> None:
    data, refs = copy_of(worked, tmp_path), worked[1]

    async def forge(raw: TinyDBStore) -> None:
        case = await raw.get("cases", refs[1])
        case["events"][-1]["by"] = "console:someone-else@example.org"
        await raw.put("cases", refs[1], case)

    edit(data, forge)
    done = purge(data, tmp_path)
    assert done.returncode == 0 and f"Kept, not removed: {refs[1]} (case {refs[1]} event" in done.stdout, done.stdout
    assert refs[1] in asyncio.run(_keys(data, "cases"))
