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
from storage.postgres_store import PostgresStore
from storage.tinydb_store import TinyDBStore

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
           "BOT_DATABASE_SCHEMA": schema}
    return subprocess.run([sys.executable, "-m", "bot", "copy-to-database", "--data", str(data), *extra], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=120)


def test_a_data_folder_is_copied_whole_and_its_references_carry_on(tmp_path: Path) -> None:
    url, schema, data = database_url(), new_schema(), tmp_path / "data"

    async def before() -> tuple[list[str], dict[str, int]]:
        async with TinyDBStore(data) as store:
            refs = await cases_in(store, 5)
            counts = {c: len(await store.keys(c)) for c in await store.collections() if c != "_sequences"}
        return refs, counts

    refs, counts = asyncio.run(before())
    try:
        first = copy(data, url, schema)
        assert first.returncode == 0, first.stderr
        assert "All there." in first.stdout and "MISSING" not in first.stdout

        again = copy(data, url, schema)  # a second run into what is now a full database: refused
        assert again.returncode == 2 and "--resume" in again.stderr
        resumed = copy(data, url, schema, "--resume")  # carried on: nothing copied twice, nothing lost
        assert resumed.returncode == 0 and " 0 copied now" in resumed.stdout

        async def after() -> tuple[dict[str, int], list[str]]:
            async with PostgresStore(url, schema=schema) as store:
                found = {c: await store.count(c) for c in counts}
                more = await cases_in(store, 1, first=100)
            return found, more

        found, more = asyncio.run(after())
        assert found == counts and counts["cases"] == 5
        assert more == ["ESC-2026-0006"] and sorted(refs) == [f"ESC-2026-000{i}" for i in range(1, 6)]
    finally:
        async def drop() -> None:
            async with PostgresStore(url, schema=schema) as store:
                await store.drop()

        asyncio.run(drop())


def test_copy_needs_a_database_and_a_data_folder(tmp_path: Path) -> None:
    url = database_url()
    result = copy(tmp_path / "nowhere", url, new_schema())
    assert result.returncode == 2 and "not a data folder" in result.stderr
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path)}
    result = subprocess.run([sys.executable, "-m", "bot", "copy-to-database"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "BOT_DATABASE_URL" in result.stderr
