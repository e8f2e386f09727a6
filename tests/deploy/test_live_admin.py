"""Live administration of the bot as deployed on the embedded store: `tick`, `directory import`, `hold`, `release`
and `purge`, run while `python -m bot serve` has the data folder, are done by the running bot (through
`<data>/.admin.sock`) and take effect at once, without a restart; and a `tick` whose messages cannot be delivered says
so and exits 1, leaving them queued."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import stat
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import aiohttp
from deployment import (  # noqa: F401  (deployed: a fixture)
    CASES_CHANNEL,
    MASTER_KEY,
    ROOT,
    TOKEN,
    TUESDAY_10,
    Bot,
    deployed,
    open_cases_weeks_ago,
)

from bot.admin.ops import operator
from bot.dates.workdays import LONDON
from bot.people.directory_csv import demo_directory, export_directory_csv
from storage.tinydb_store import TinyDBStore

NEWCOMER = "U0NEWCOMER"  # a practitioner the demo directory does not know


def cli(bot: Bot, *args: str | Path, slack: str | None = "fake") -> subprocess.CompletedProcess[str]:
    """The command an operator runs on the server, as the service account, with the bot's settings (`slack`: its
    Web API, None for none, or another base URL)."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(bot.data.parent), "NO_PROXY": "127.0.0.1",
           "BOT_MASTER_KEY": MASTER_KEY, "BOT_POLICY": "surrey", "SLACK_CASES_CHANNEL": CASES_CHANNEL,
           "PYTHONPATH": str(ROOT)}
    if slack is not None:
        env |= {"SLACK_BOT_TOKEN": TOKEN, "SLACK_SIGNING_SECRET": "deployment-signing-secret",
                "SLACK_API_URL": (bot.fakes.slack + "/api/") if slack == "fake" else slack}
    return subprocess.run([sys.executable, "-m", "bot", *map(str, args), "--data", str(bot.data)], cwd=bot.data.parent,
                          env=env, capture_output=True, text=True, timeout=120, check=False)


def by_the_bot(done: subprocess.CompletedProcess[str], bot: Bot) -> None:
    assert bot.proc is not None
    assert f"note: done by the running bot (process {bot.proc.pid}), which has {bot.data} open" in done.stderr


async def test_tick_beside_the_running_bot_is_done_by_it_and_delivered_through_its_slack(deployed: Bot) -> None:
    bot = deployed
    bot.clock = (TUESDAY_10 - timedelta(weeks=4, hours=-1)).isoformat()  # its own passes: nothing due yet
    await open_cases_weeks_ago(TinyDBStore(bot.data), 3)
    bot.start()
    await bot.until_settled()  # (its first pass posts the three cases' roots)
    before = await bot.fakes.posts()
    roots = [p for p in before if p["channel"] == CASES_CHANNEL]
    assert len(roots) == 3 and all(not p["thread_ts"] for p in roots)
    sock = bot.data / ".admin.sock"
    assert stat.S_ISSOCK(sock.stat().st_mode) and stat.S_IMODE(sock.stat().st_mode) == 0o600

    done = cli(bot, "tick", "--now", TUESDAY_10.isoformat())
    assert done.returncode == 0, done.stderr
    by_the_bot(done, bot)
    sent = done.stdout.splitlines()
    refs = {line.split("\t")[0] for line in sent}
    assert len(refs) == 3 and all(f"\tslack:{CASES_CHANNEL}\t" in line for line in sent)
    posts = (await bot.fakes.posts())[len(before):]  # delivered by the bot before it answered
    assert len(posts) == len(sent) and all(p["thread_ts"] and p["channel"] == CASES_CHANNEL for p in posts)
    assert {ref for ref in refs if any(ref in (p["text"] or "") for p in posts)} == refs

    again = cli(bot, "tick", "--now", TUESDAY_10.isoformat())  # the same pass again: nothing twice
    assert (again.returncode, again.stdout) == (0, ""), again.stderr
    assert bot.stop() == 0
    assert not sock.exists() and bot.tracebacks() == []
    stopped = cli(bot, "tick", "--now", TUESDAY_10.isoformat())  # the bot stopped: done here, still nothing twice
    assert (stopped.returncode, stopped.stdout, stopped.stderr) == (0, "", "")
    assert len(await bot.fakes.posts()) == len(before) + len(sent)
    rows = json.loads(cli(bot, "audit", "--format", "json").stdout)
    ticks = [r for r in rows if r["action"] == "tick"]
    assert len(ticks) == 3 and {r["who"] for r in ticks} == {operator()}  # (by the bot: named from the socket)


async def test_a_tick_that_cannot_deliver_says_so_exits_1_and_keeps_the_messages(deployed: Bot) -> None:
    bot = deployed
    await open_cases_weeks_ago(TinyDBStore(bot.data), 2)  # (no bot running: tick does the pass itself)
    ahead = (datetime.now(LONDON) + timedelta(days=3)).isoformat()
    future = cli(bot, "tick", "--now", ahead)  # a time still to come: refused, nothing done
    assert (future.returncode, future.stdout) == (2, "")
    assert future.stderr.startswith(f"error: --now {ahead} has not come yet: ") and len(future.stderr.splitlines()) == 1
    assert not bot.data.with_name(f"{bot.data.name}-keys").exists()  # (the store was not even opened)

    unconnected = cli(bot, "tick", "--now", TUESDAY_10.isoformat(), slack=None)
    assert unconnected.returncode == 1 and len(unconnected.stdout.splitlines()) == 2, unconnected.stderr
    async with bot.store() as store:
        queued = len(await store.keys("outbox_due"))  # each case's confirmation, root and nudge
    assert queued == 6
    problems = [line for line in unconnected.stderr.splitlines() if not line[:4].isdigit()]  # (not the log's)
    assert problems[-1] == (f"error: {queued} message(s) could not be delivered; they stay queued and the next pass "
                            "tries them again")
    assert len(problems) == queued + 1 and all(line.startswith("not delivered: ") for line in problems[:-1])
    no_slack = ("to slack: no slack connection (set SLACK_BOT_TOKEN (and SLACK_SIGNING_SECRET or SLACK_APP_TOKEN) "
                "where tick runs, or run it while the bot runs)")
    assert f"not delivered: root message about ESC-2026-0001 {no_slack}" in problems
    assert "not delivered: nudge about ESC-2026-0002 to slack: the case's thread is not started yet" in problems

    with socket.socket() as closed:  # a port nothing listens on: Slack unreachable
        closed.bind(("127.0.0.1", 0))
        nowhere = f"http://127.0.0.1:{closed.getsockname()[1]}/api/"
    down = cli(bot, "tick", "--now", TUESDAY_10.isoformat(), slack=nowhere)
    assert down.returncode == 1 and down.stderr.splitlines()[-1].startswith("error: ")
    failed = [line for line in down.stderr.splitlines() if line.startswith("not delivered: ")]
    assert failed and all(" to slack: " in line and "no slack connection" not in line for line in failed), down.stderr
    assert await bot.fakes.posts() == []

    later = TUESDAY_10 + timedelta(hours=1)  # (past the back-off of the failed attempt)
    delivered = cli(bot, "tick", "--now", later.isoformat())
    assert delivered.returncode == 0 and "not delivered" not in delivered.stderr, delivered.stderr
    posts = await bot.fakes.posts()
    roots = [p for p in posts if p["channel"] == CASES_CHANNEL and not p["thread_ts"]]
    assert len(roots) == 2 and len(posts) > 2  # each case's thread, then what was due in it: once each
    assert len({(p["channel"], p["thread_ts"], p["text"]) for p in posts}) == len(posts)
    async with bot.store() as store:
        assert await store.keys("outbox_due") == []


async def test_directory_import_hold_release_and_purge_are_done_by_the_running_bot_at_once(
    deployed: Bot, tmp_path: Path
) -> None:
    bot = deployed
    await open_cases_weeks_ago(TinyDBStore(bot.data), 1)
    bot.start()
    await bot.until_settled()
    async with aiohttp.ClientSession() as session:
        unknown = await bot.intake_view(session, NEWCOMER)
        assert "raiser_agency" in json.dumps(unknown)  # not in the directory: asked who they are

        people = demo_directory(["surrey"]).people
        first = people[0]
        newcomer = type(first)(**{**first.__dict__, "email": "newcomer@example.org", "name": "Nia Newcomer",
                                  "slack_id": NEWCOMER, "teams_id": ""})
        directory = type(demo_directory(["surrey"]))([*people, newcomer])
        csv = tmp_path / "people.csv"
        csv.write_text(export_directory_csv(directory), encoding="utf-8")
        done = cli(bot, "directory", "import", csv)
        assert done.returncode == 0, done.stderr
        by_the_bot(done, bot)
        assert done.stdout.splitlines() == [f"Imported {len(people) + 1} people from {csv} "
                                            f"({len(directory.agencies())} agencies).",
                                            "The running bot uses it now."]
        known = await bot.intake_view(session, NEWCOMER, "VAGAIN")  # the same bot, no restart: they are known now
        assert "raiser_agency" not in json.dumps(known)
    # What only reads runs beside the bot, as a guest: the directory back as imported, the summary, a counterpart.
    exported = cli(bot, "directory", "export")
    assert exported.returncode == 0 and exported.stdout == csv.read_text(encoding="utf-8"), exported.stderr
    for command in (["summary", "--json"], ["counterpart", "--policy", "surrey", "--agency", "Northshire Police",
                                            "--stage", "2"]):
        read = cli(bot, *command)
        assert read.returncode == 0 and read.stdout, read.stderr
        assert "working beside it in shared mode" in read.stderr

    async with bot.store() as store:
        (ref,) = await store.keys("cases")
    held = cli(bot, "hold", ref, "--reason", "Matter 9")
    assert held.returncode == 0 and held.stdout.startswith(f"{ref} is on legal hold from "), held.stderr
    by_the_bot(held, bot)
    twice = cli(bot, "hold", ref, "--reason", "Matter 9")  # a refusal from the bot: one line, exit 2
    assert twice.returncode == 2 and twice.stdout == "" and twice.stderr.splitlines()[-1].startswith("error: ")
    dry = cli(bot, "purge", "--dry-run")
    assert dry.returncode == 0 and "Nothing to remove: no case was closed before" in dry.stdout, dry.stderr
    released = cli(bot, "release", ref)
    assert released.returncode == 0 and released.stdout.startswith(f"{ref} is no longer on legal hold"), \
        released.stderr
    real = cli(bot, "purge", "--yes")
    assert real.returncode == 0 and "The purge is in the audit log." in real.stdout, real.stderr
    by_the_bot(real, bot)
    assert bot.stop() == 0 and bot.tracebacks() == []
    rows = json.loads(cli(bot, "audit", "--format", "json").stdout)
    actions = [r["action"] for r in rows]
    assert [a for a in actions if a in ("directory_imported", "hold", "released", "purge_dry_run", "purged")] == \
        ["directory_imported", "hold", "hold", "purge_dry_run", "released", "released", "purged"]  # (case, log)
    assert {r["who"] for r in rows if r["action"] in ("hold", "released", "purged")} == {operator()}


async def test_a_backup_of_the_running_bot_is_made_by_it_and_restores_whole(deployed: Bot, tmp_path: Path) -> None:
    """The drill on a store in use: the bot, serving, makes the backup itself (its writes held still for the
    snapshot); stopped, its folders wiped, the archive restored: every case and the audit (verified) are back, and
    the bot starts on it."""
    bot = deployed
    await open_cases_weeks_ago(TinyDBStore(bot.data), 2)
    bot.start()
    await bot.until_settled()
    backups = tmp_path / "backups"
    backups.mkdir(mode=0o700)
    made = cli(bot, "backup", "--out", backups)
    assert made.returncode == 0, made.stderr
    by_the_bot(made, bot)
    (archive,) = backups.iterdir()
    assert made.stdout.startswith(f"Backed up {bot.data} and its data keys") and f" to {archive} (" in made.stdout
    assert stat.S_IMODE(archive.stat().st_mode) == 0o600
    async with bot.store() as store:
        cases = await store.scan("cases")
    assert bot.proc is not None
    early = cli(bot, "restore", archive)  # the bot still running: told to stop it, nothing touched
    assert (early.returncode, early.stdout) == (2, "")
    assert early.stderr == (f"error: the bot (process {bot.proc.pid}) is running on {bot.data}: stop it first "
                            "(systemctl stop escalation-bot), then restore into an empty data folder\n")
    assert bot.stop() == 0 and bot.tracebacks() == []
    before = json.loads(cli(bot, "audit", "--format", "json").stdout)
    assert before[-1]["action"] == "backup_made"  # (an export's own entry is in the next one's)

    keys = bot.data.with_name(f"{bot.data.name}-keys")
    shutil.rmtree(bot.data)
    shutil.rmtree(keys)
    back = cli(bot, "restore", archive)
    assert back.returncode == 0, back.stderr
    assert "Cases restored: 2." in back.stdout.splitlines()
    verified = cli(bot, "audit", "verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    async with bot.store() as store:
        assert await store.scan("cases") == cases
    after = json.loads(cli(bot, "audit", "--format", "json").stdout)
    assert after[:len(before)] == before  # the trail up to the backup, as it was (not the export made after it) ...
    assert [r["action"] for r in after[len(before):]] == ["restored", "audit_verified"]  # ... then the restore's
    bot.start()  # the bot starts on the restored store
    async with aiohttp.ClientSession() as session, session.get(bot.url + "/healthz") as response:
        assert response.status == 200
    assert bot.stop() == 0 and bot.tracebacks() == []


async def test_a_bot_that_does_not_answer_on_its_socket_leaves_the_refusal_saying_what_to_do(deployed: Bot) -> None:
    bot = deployed
    await open_cases_weeks_ago(TinyDBStore(bot.data), 1)
    bot.start()
    await bot.until_settled()
    (bot.data / ".admin.sock").unlink()  # as a bot of an older version: no socket
    done = cli(bot, "release", "ESC-2026-0001")
    assert done.returncode == 1 and done.stdout == ""
    (line,) = done.stderr.splitlines()
    assert line.startswith("error: store in use: ") and "restart it with this version, or stop it, to run release" \
        in line
    await asyncio.sleep(0)
    assert bot.stop() == 0
