"""Command-line tools that run the bot: `chat`, `tick`, `summary` and `serve`."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from bot.cli.common import (
    EMAIL,
    UsageError,
    add_data,
    parse_instant,
    policy_named,
    run_operation,
    shared_beside_bot,
)
from bot.config import Settings
from policies.loader import load_policies

FUTURE_SLACK = timedelta(minutes=5)  # (clocks apart by a little: a --now a few minutes ahead is taken as now)


def add_parsers(sub: Any) -> None:
    chat = sub.add_parser("chat", help="the console channel: talk to the bot in this terminal")
    chat.add_argument("--user", required=True, metavar="EMAIL", help="who you are")
    chat.add_argument("--policy", metavar="ID", help="run only this procedure")
    add_data(chat)
    tick = sub.add_parser("tick", help="run one scheduler pass at a given time (by the running bot, if one has the "
                          "data folder); prints a line per nudge sent, exit 1 if a message could not be delivered")
    tick.add_argument("--now", required=True, metavar="ISO-DATETIME", help="e.g. 2026-11-25T09:00 (London time); "
                      "a time that has come")
    tick.add_argument("--allow-future", action="store_true", help="take a --now still to come (trials on a copy of "
                      "the data only: that day's nudges, to real people, are sent now)")
    add_data(tick)
    summary = sub.add_parser("summary", help="the weekly summary's figures for a week (default: the last full week)")
    summary.add_argument("--week", metavar="YYYY-Www", help="ISO week, e.g. 2026-W48")
    summary.add_argument("--policy", metavar="ID", help="one partnership (default: all)")
    summary.add_argument("--json", action="store_true", help="print JSON for machines")
    summary.add_argument("--chart", metavar="PATH", type=Path, help="also write the chart (PNG) here")
    add_data(summary)
    serve = sub.add_parser("serve", help="run the bot's web server (Slack, Teams and /healthz)")
    serve.add_argument("--host", metavar="HOST", help="address to bind (default: BOT_HOST or 127.0.0.1)")
    serve.add_argument("--port", metavar="PORT", type=int, help="port (default: BOT_PORT or 3978)")
    add_data(serve)
    move = sub.add_parser("copy-to-database", help="copy the embedded store (a data folder) into the PostgreSQL "
                          "database BOT_DATABASE_URL names, and check the counts (stop the bot first)")
    move.add_argument("--resume", action="store_true", help="carry on a copy that was interrupted (the database "
                      "already holds some of it)")
    add_data(move)


def cmd_copy_to_database(args: argparse.Namespace, settings: Settings) -> int:
    from bot.cases.trail import log_event
    from bot.cli.records import operator
    from bot.config import deployment_store
    from bot.dates.workdays import LONDON
    from storage import default_key_dir
    from storage.copy import CopyRefused, copy_store
    from storage.postgres_store import PostgresStore, redacted
    from storage.tinydb_store import TinyDBStore

    if not settings.database_url:
        raise UsageError("set BOT_DATABASE_URL to the PostgreSQL database to copy into")
    data = args.data or settings.data_dir
    if not (data / "meta.json").is_file():
        raise UsageError(f"{data} is not a data folder of the bot (no meta.json)")

    keys = settings.key_dir or default_key_dir(data)  # (the data keys go to a schema of their own, as they are)

    if not (settings.master_key or settings.master_key_file):
        raise UsageError(f"set BOT_MASTER_KEY_FILE (or BOT_MASTER_KEY) to the master key {data} is sealed under, "
                         f"which the replicas will hold (a development folder's: {keys / 'master.key'})")

    async def copied(folder: Path, schema: str) -> list[Any]:
        async with TinyDBStore(folder) as source, PostgresStore(settings.database_url, schema=schema) as target:
            try:
                return await copy_store(source, target, resume=args.resume)
            except CopyRefused as exc:
                raise UsageError(str(exc)) from None

    async def run() -> int:
        report = await copied(data, settings.database_schema)
        if (keys / "meta.json").is_file():
            report += await copied(keys, f"{settings.database_schema}_keys")
        # The database as the replicas will open it: the key given must open the data keys copied (else one line
        # naming it), and the copy is audited there, chained under the deployment's own chain key.
        async with deployment_store(settings, data) as store:
            count = sum(line.copied + line.updated for line in report if line.collection != "(counters)")
            await log_event(store, {
                "at": datetime.now(LONDON).isoformat(), "by": operator(), "action": "copied_to_database",
                "detail": f"schema {settings.database_schema}{' (resumed)' if args.resume else ''}; {count} "
                          "document(s) copied now"})
        print(f"Copied {data} into {redacted(settings.database_url)} (schema {settings.database_schema}, its data "
              f"keys from {keys} into {settings.database_schema}_keys):")
        for line in report:
            again = f", {line.updated} changed in the folder since: copied again" if line.updated else ""
            print(f"  {line.collection:<24} {line.source:>8} in the folder, {line.copied:>8} copied now, "
                  f"{line.target:>8} in the database{'' if line.matches else '  MISSING'}{again}")
        if not all(line.matches for line in report):
            print("error: the database holds fewer documents than the folder; run again with --resume",
                  file=sys.stderr)
            return 1
        print("All there. Start the bot with BOT_DATABASE_URL set; keep the folder until you are satisfied.")
        return 0

    return asyncio.run(run())


def cmd_chat(args: argparse.Namespace, settings: Settings) -> int:
    from bot.app import run_console

    if not EMAIL.match(args.user):
        raise UsageError(f"--user must be an email address (found {args.user!r})")
    ids = (args.policy,) if args.policy else settings.policy_ids
    if args.policy:
        policy_named(args.policy, settings)
    policies = load_policies(settings.policy_dir, ids)
    return asyncio.run(run_console(args.data or settings.data_dir, policies, settings, args.user))


def cmd_tick(args: argparse.Namespace, settings: Settings) -> int:
    """One scheduler pass (bot.admin.ops.tick): by the running bot where one has the embedded store open, else here
    with the channels connected; exit 1 when a message could not be delivered."""
    from bot.dates.clock import FixedClock

    now = parse_instant(args.now, "--now")
    if now > datetime.now(now.tzinfo) + FUTURE_SLACK and not args.allow_future:
        raise UsageError(f"--now {args.now} has not come yet: a pass at a time to come sends that day's nudges (and "
                         "overdue messages to leads) now, to real people; give a time that has come (--allow-future "
                         "for a trial on a copy of the data)")
    return run_operation(settings, args.data or settings.data_dir, "tick", {"now": now.isoformat()}, channels=True,
                         clock=FixedClock(now))


def cmd_summary(args: argparse.Namespace, settings: Settings) -> int:
    from bot.cases.book import CaseBook
    from bot.summary import figures as summary
    from bot.summary.chart import summary_png
    policies = load_policies(settings.policy_dir)
    if args.policy:
        policy_named(args.policy, settings)
    try:
        monday = summary.parse_week(args.week) if args.week else summary.last_full_week(date.today())
    except ValueError as exc:
        raise UsageError(f"--week: {exc}") from None

    async def run() -> int:
        async with shared_beside_bot(settings, args.data or settings.data_dir) as store:  # (it only reads)
            cases = await CaseBook(store).for_summary(summary.summary_window(monday))
        figs = summary.figures(cases, policies, monday, args.policy)
        print(json.dumps(figs, indent=2) if args.json else summary.text(figs, policies))
        if args.chart:
            args.chart.write_bytes(summary_png(figs))
        return 0

    return asyncio.run(run())


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    from bot.app import serve

    if args.port is not None and not 1 <= args.port <= 65535:
        raise UsageError(f"--port must be from 1 to 65535 (found {args.port})")
    policies = load_policies(settings.policy_dir, settings.policy_ids)
    return serve(settings, policies, host=args.host, port=args.port, data_dir=args.data)


COMMANDS: dict[str, Callable[[argparse.Namespace, Settings], int]] = {
    "chat": cmd_chat,
    "tick": cmd_tick,
    "summary": cmd_summary,
    "serve": cmd_serve,
    "copy-to-database": cmd_copy_to_database,
}
