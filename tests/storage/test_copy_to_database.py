"""Moving a deployment from its data folder to PostgreSQL (`python -m bot copy-to-database`): everything copied,
counts checked, references carrying on from where they were, safe to run again, a non-empty database refused unless
told to resume."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

from postgres_support import database_url, new_schema

from bot.app import build_core
from bot.people.directory_csv import demo_directory
from bot.types import Event, ThreadRef, UserRef
from policies.loader import load_policies

ROOT = Path(__file__).resolve().parents[2]
ANSWERS = {"arose_on": "2026-11-23", "other_agency": "Northshire Police", "other_professional": "Chris Walker",
           "other_role": "Detective Constable", "category": "safeguarding_decision", "disputed": "Closed",
           "impact": "Risk continues", "desired_change": "Strategy discussion", "discussed_line_manager": "yes",
           "discussed_other": "yes", "child_status": "none", "child_name": "Tallulah Quenby-Marsh",
           "child_dob": "2015-02-03"}


async def cases_in(store, count: int, first: int = 0) -> list[str]:
    from datetime import datetime

    from bot.dates.clock import FixedClock
    from bot.dates.workdays import LONDON

    core = build_core(store, load_policies(ids=("surrey",)), FixedClock(datetime(2026, 11, 23, 10, tzinfo=LONDON)),
                      directory=demo_directory(["surrey"]))
    me = ThreadRef("console", "practitioner@example.org")
    refs = []
    for i in range(first, first + count):
        event = Event.submitted(UserRef("console", "practitioner@example.org", email="practitioner@example.org"),
                                me, ANSWERS, {"step": "intake", "policy": "surrey"}, event_id=f"seed-{i}",
                                reply_to=me)
        taken = await store_submit(core, event)
        refs += [r.case_ref for r in taken if r.case_ref]
    return refs


async def store_submit(core, event):
    taken = await core.door.submit(event)
    return await core.door.process(taken.ticket)


def copy(data: Path, url: str, schema: str, *extra: str) -> subprocess.CompletedProcess[str]:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(data.parent), "BOT_DATABASE_URL": url,
           "BOT_DATABASE_SCHEMA": schema, "BOT_MASTER_KEY_FILE": str(data.with_name("data-keys") / "master.key")}
    return subprocess.run([sys.executable, "-m", "bot", "copy-to-database", "--data", str(data), *extra], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=120)


def test_a_data_folder_is_copied_whole_and_its_references_carry_on(tmp_path: Path) -> None:
    """The folder as a deployment keeps it (sealed, its data keys beside it) is copied with its keys: the database
    opens every case; a case changed in the folder after a copy is copied again by --resume."""
    from bot.config import deployment_store, read_settings

    url, schema, data = database_url(), new_schema(), tmp_path / "data"
    folder = deployment_store(read_settings({}), data)
    database = deployment_store(read_settings({  # (the replicas are given the key the folder was sealed with)
        "BOT_DATABASE_URL": url, "BOT_DATABASE_SCHEMA": schema,
        "BOT_MASTER_KEY_FILE": str(data.with_name("data-keys") / "master.key")}), data)

    async def before() -> tuple[list[str], dict[str, int]]:
        async with folder as store:
            refs = await cases_in(store, 5)
            counts = {c: len(await store.keys(c)) for c in await store.collections() if c != "_sequences"}
        return refs, counts

    refs, counts = asyncio.run(before())
    try:
        first = copy(data, url, schema)
        assert first.returncode == 0, first.stderr
        assert "All there." in first.stdout and "MISSING" not in first.stdout and "data_keys" in first.stdout

        again = copy(data, url, schema)  # a second run into what is now a full database: refused
        assert again.returncode == 2 and "--resume" in again.stderr
        resumed = copy(data, url, schema, "--resume")  # carried on: nothing copied twice, nothing lost
        assert resumed.returncode == 0 and " 0 copied now" in resumed.stdout and "copied again" not in resumed.stdout

        async def change() -> None:  # (the old bot used once more on the folder: a case moves on)
            async with folder as store:
                await store.update("cases", refs[0], lambda c: {**c, "status": "resolved",
                                                                 "closed_at": "2026-12-01T10:00:00+00:00"})

        asyncio.run(change())
        resumed = copy(data, url, schema, "--resume")
        assert resumed.returncode == 0 and "1 changed in the folder since: copied again" in resumed.stdout
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path), "BOT_DATABASE_URL": url,
               "BOT_DATABASE_SCHEMA": schema, "BOT_MASTER_KEY_FILE": str(data.with_name("data-keys") / "master.key")}
        verified = subprocess.run([sys.executable, "-m", "bot", "audit", "verify"], cwd=ROOT, env=env,
                                  capture_output=True, text=True, timeout=60)
        assert verified.returncode == 0 and "Audit trail intact" in verified.stdout, verified.stdout + verified.stderr

        async def after() -> tuple[dict[str, int], list[str], dict]:
            async with database as store:
                found = {c: await store.count(c) for c in counts}
                moved = await store.get("cases", refs[0])
                more = await cases_in(store, 1, first=100)
            return found, more, moved

        found, more, moved = asyncio.run(after())
        assert found == {**counts, "audit_log": counts["audit_log"] + 4}  # (the 3 copies and the check, audited)
        assert counts["cases"] == 5
        assert moved["status"] == "resolved" and moved["child"]["child_name"] == ANSWERS["child_name"]
        assert more == ["ESC-2026-0006"] and sorted(refs) == [f"ESC-2026-000{i}" for i in range(1, 6)]
    finally:
        async def drop() -> None:
            async with database as store:
                await store.drop()

        asyncio.run(drop())


def test_copy_needs_a_database_and_a_data_folder(tmp_path: Path) -> None:
    url = database_url()
    result = copy(tmp_path / "nowhere", url, new_schema())
    assert result.returncode == 2 and "not a data folder" in result.stderr
    (tmp_path / "plain").mkdir()
    (tmp_path / "plain" / "meta.json").write_text('{"schema_version": 1}')
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path), "BOT_DATABASE_URL": url}
    result = subprocess.run([sys.executable, "-m", "bot", "copy-to-database", "--data", str(tmp_path / "plain")],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "BOT_MASTER_KEY_FILE" in result.stderr and "plain-keys/master.key" in \
        result.stderr
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path)}
    result = subprocess.run([sys.executable, "-m", "bot", "copy-to-database"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "BOT_DATABASE_URL" in result.stderr
