"""Encryption at rest, end to end: a canary child (name, date of birth, address) and canary free text taken through
Slack, Teams and the console of a deployed bot; then a raw search of every file of the data folder (its temporary
files included) and of the PostgreSQL tables finds none of it, while an entitled export still shows it."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import aiohttp
from deployment import (  # noqa: F401  (deployed: a fixture)
    JORDAN,
    MASTER_KEY,
    ROOT,
    answers,
    deployed,
    submit_data,
    teams_activity,
    view_submission,
)
from postgres_support import database_url, drop_schemas, new_schema

NAME, DOB, ADDRESS = "Zephyrine Canarywood-Blythe", "2014-07-19", "17 Canary Wharf Lane, Northshire"
TYPED = "Canaryfree disputed wording 4417"
SECRETS = ("Zephyrine", "Canarywood", "Canary Wharf", "Canaryfree", "4417", DOB)

CONSOLE = ["escalate", "no", "today", "Northshire Police", "DS Jane Doe", "Detective Sergeant", "2",
           f"{TYPED} (console)", "The child remains exposed.", "A strategy discussion this week.", "yes", "no", "1",
           "NS-4471", NAME, DOB, "confirm"]


def canary_answers() -> dict[str, str]:
    return {**answers(date.today()), "child_name": NAME, "child_dob": DOB, "disputed": TYPED}


def found_in(folder: Path) -> list[str]:
    hits = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        raw = path.read_bytes()
        hits += [f"{path.relative_to(folder)}: {s}" for s in SECRETS if s.encode() in raw]
    return hits


async def test_a_canary_child_through_every_channel_is_nowhere_in_the_data_folder(deployed, tmp_path) -> None:
    bot = deployed
    bot.start()
    async with aiohttp.ClientSession() as session:
        view = await bot.intake_view(session)
        status, text = await bot.post(session, view_submission(JORDAN, view, canary_answers(), "VCANARY"))
        assert status == 200, text
        card, card_id = await bot.intake_card(session)
        value = {**submit_data(card), **canary_answers(), "disputed": f"{TYPED} (teams)"}
        assert await bot.teams(session, teams_activity(bot.fakes.connector, value=value, reply_to=card_id)) == 200
        await bot.until_settled()
        assert found_in(bot.data) == []  # (while it runs: the records and any temporary file)
    assert bot.stop() == 0
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path), "BOT_MASTER_KEY": MASTER_KEY,
           "BOT_POLICY": "surrey"}
    console = subprocess.run([sys.executable, "-m", "bot", "chat", "--user", "practitioner@example.org", "--data",
                              str(bot.data)], input="\n".join(CONSOLE) + "\n", capture_output=True, text=True,
                             cwd=ROOT, env=env, timeout=60)
    assert console.returncode == 0 and "is open under" in console.stdout, console.stdout[-2000:] + console.stderr
    async with bot.store() as store:
        cases = [c for _, c in await store.scan("cases")]
    assert len(cases) == 3 and {c["child"]["child_name"] for c in cases} == {NAME}  # (entitled reads: all there)
    assert found_in(bot.data) == []
    assert found_in(bot.data.with_name("data-keys")) == []

    record = tmp_path / "record.docx"
    exported = subprocess.run([sys.executable, "-m", "bot", "export", cases[0]["ref"], "--format", "docx", "--out",
                               str(record), "--data", str(bot.data)], capture_output=True, text=True, cwd=ROOT,
                              env=env, timeout=60)
    assert exported.returncode == 0, exported.stderr
    from docx import Document

    assert NAME in "\n".join(cell.text for table in Document(str(record)).tables for row in table.rows
                             for cell in row.cells)
    assert found_in(bot.data) == [] and sorted(p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")) == []


def test_the_database_tables_hold_no_canary(tmp_path) -> None:
    """The same on PostgreSQL: every row of the data schema and of the keys schema, read raw."""
    import psycopg

    from bot.config import deployment_store, read_settings
    from bot.dates.clock import FixedClock
    from bot.dates.workdays import LONDON

    url, schema = database_url(), new_schema()
    settings = read_settings({"BOT_DATABASE_URL": url, "BOT_DATABASE_SCHEMA": schema, "BOT_MASTER_KEY": MASTER_KEY})

    async def work() -> None:
        from datetime import datetime

        from bot.app import build_core
        from bot.people.directory_csv import demo_directory
        from bot.types import Event, ThreadRef, UserRef
        from policies.loader import load_policies

        async with deployment_store(settings, tmp_path / "data") as store:
            core = build_core(store, load_policies(ids=("surrey",)), FixedClock(datetime(2026, 11, 23, 10,
                                                                                        tzinfo=LONDON)),
                              directory=demo_directory(["surrey"]))
            me = ThreadRef("console", "practitioner@example.org")
            user = UserRef("console", "practitioner@example.org", email="practitioner@example.org")
            taken = await core.door.submit(Event.submitted(user, me, {**canary_answers(), "arose_on": "2026-11-23"},
                                                           {"step": "intake", "policy": "surrey"}, event_id="canary",
                                                           reply_to=me))
            assert any(r.case_ref for r in await core.door.process(taken.ticket))

    try:
        asyncio.run(work())
        with psycopg.connect(url) as conn:
            rows = []
            for name in (schema, f"{schema}_keys"):
                for (table,) in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = %s", (name,)):
                    rows += [str(row) for row in conn.execute(f'SELECT * FROM "{name}"."{table}"')]
        assert rows and not [s for s in SECRETS for row in rows if s in row]
    finally:
        asyncio.run(drop_schemas(url, schema))
