"""The command line: `python -m bot COMMAND`. Usage errors exit 2 with one clear line on stderr."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import re
import sys
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from bot.config import ConfigError, Settings, load_dotenv_file, read_settings
from bot.workdays import LONDON
from policies.loader import load_policies
from policies.model import TIER_LABELS, Policy
from policies.reader import PolicyError

if TYPE_CHECKING:
    from bot.directory import Directory

ISO = re.compile(r"^\d{4}-\d{2}-\d{2}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class UsageError(Exception):
    """Bad input on the command line."""


class Parser(argparse.ArgumentParser):
    """argparse that reports a usage error as one line (and exit code 2)."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message} (see {self.prog} --help)")


def build_parser() -> Parser:
    parser = Parser(prog="python -m bot", description="Safeguarding escalation bot.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    sub.required = True
    sub.add_parser("policies", help="list the procedures this deployment runs (id and name)")
    due = sub.add_parser("due", help="the date a stage must be done by when its clock starts on a date")
    due.add_argument("--policy", required=True, metavar="ID")
    due.add_argument("--stage", required=True, type=int, metavar="N")
    due.add_argument("--start", required=True, metavar="YYYY-MM-DD")
    timeline = sub.add_parser("timeline", help="the worst-case due date of every stage of a procedure")
    timeline.add_argument("--policy", required=True, metavar="ID")
    timeline.add_argument("--raised", required=True, metavar="YYYY-MM-DD")
    timeline.add_argument("--json", action="store_true", help="print JSON (the only format for now)")
    chat = sub.add_parser("chat", help="the console channel: talk to the bot in this terminal")
    chat.add_argument("--user", required=True, metavar="EMAIL", help="who you are")
    chat.add_argument("--policy", metavar="ID", help="run only this procedure")
    chat.add_argument("--data", metavar="DIR", type=Path, help="data folder (default: BOT_DATA_DIR or ./data)")
    tick = sub.add_parser("tick", help="run one scheduler pass at a given time; prints a line per nudge sent")
    tick.add_argument("--now", required=True, metavar="ISO-DATETIME", help="e.g. 2026-11-25T09:00 (London time)")
    tick.add_argument("--data", metavar="DIR", type=Path, help="data folder (default: BOT_DATA_DIR or ./data)")
    summary = sub.add_parser("summary", help="the weekly summary's figures for a week (default: the last full week)")
    summary.add_argument("--week", metavar="YYYY-Www", help="ISO week, e.g. 2026-W48")
    summary.add_argument("--policy", metavar="ID", help="one partnership (default: all)")
    summary.add_argument("--json", action="store_true", help="print JSON for machines")
    summary.add_argument("--chart", metavar="PATH", type=Path, help="also write the chart (PNG) here")
    summary.add_argument("--data", metavar="DIR", type=Path, help="data folder (default: BOT_DATA_DIR or ./data)")
    serve = sub.add_parser("serve", help="run the bot's web server (Slack, Teams and /healthz)")
    serve.add_argument("--host", metavar="HOST", help="address to bind (default: BOT_HOST or 127.0.0.1)")
    serve.add_argument("--port", metavar="PORT", type=int, help="port (default: BOT_PORT or 3978)")
    serve.add_argument("--data", metavar="DIR", type=Path, help="data folder (default: BOT_DATA_DIR or ./data)")
    directory = sub.add_parser("directory", help="import or export the directory of people (CSV)")
    actions = directory.add_subparsers(dest="action", metavar="ACTION", parser_class=Parser)
    actions.required = True
    load = actions.add_parser("import", help="replace the directory with a CSV file (refused whole if it has problems)")
    load.add_argument("file", metavar="FILE.csv", type=Path)
    load.add_argument("--data", metavar="DIR", type=Path, help="data folder (default: BOT_DATA_DIR or ./data)")
    dump = actions.add_parser("export", help="print the directory as CSV (the demo directory if none is imported)")
    dump.add_argument("--data", metavar="DIR", type=Path, help="data folder (default: BOT_DATA_DIR or ./data)")
    counterpart = sub.add_parser("counterpart", help="who in the other agency acts at a stage, from the directory")
    counterpart.add_argument("--policy", required=True, metavar="ID")
    counterpart.add_argument("--agency", required=True, metavar="NAME", help="the other agency")
    counterpart.add_argument("--stage", required=True, type=int, metavar="N")
    counterpart.add_argument("--data", metavar="DIR", type=Path, help="data folder (default: BOT_DATA_DIR or ./data)")
    return parser


def parse_date(text: str, option: str) -> date:
    try:
        if ISO.match(text):
            day = date.fromisoformat(text)
            if 1900 <= day.year <= 2999:
                return day
    except ValueError:
        pass
    raise UsageError(f"{option} must be a real date from 1900 to 2999, written YYYY-MM-DD (found {text!r})")


def policy_named(policy_id: str, settings: Settings) -> Policy:
    policies = load_policies(settings.policy_dir)
    if policy_id not in policies:
        raise UsageError(f"unknown policy {policy_id!r}; known policies: {', '.join(sorted(policies))}")
    return policies[policy_id]


def cmd_policies(settings: Settings) -> int:
    for policy in load_policies(settings.policy_dir, settings.policy_ids).values():
        print(f"{policy.id}\t{policy.name}")
    return 0


def cmd_due(args: argparse.Namespace, settings: Settings) -> int:
    from bot.timeline import stage_due

    policy = policy_named(args.policy, settings)
    start = parse_date(args.start, "--start")
    stage = policy.stage(args.stage)
    if stage is None:
        numbers = ", ".join(str(s.number) for s in policy.stages)
        raise UsageError(f"{policy.id} has no stage {args.stage}; its stages are {numbers}")
    due = stage_due(policy, stage, start)
    print(due.isoformat() if due else "none")
    return 0


def cmd_timeline(args: argparse.Namespace, settings: Settings) -> int:
    from bot.timeline import overall_due, worst_case

    policy = policy_named(args.policy, settings)
    raised = parse_date(args.raised, "--raised")
    stages = [
        {"stage": s.stage.number, "name": s.stage.name, "due": s.due.isoformat() if s.due else None}
        for s in worst_case(policy, raised)
    ]
    cap = overall_due(policy, raised)
    print(json.dumps({"policy": policy.id, "stages": stages, "overall_due": cap.isoformat() if cap else None}))
    return 0


def cmd_chat(args: argparse.Namespace, settings: Settings) -> int:
    from adapters.console import Console
    from bot.clock import SystemClock
    from bot.wiring import make_engine
    from storage.tinydb_store import TinyDBStore

    if not EMAIL.match(args.user):
        raise UsageError(f"--user must be an email address (found {args.user!r})")
    ids = (args.policy,) if args.policy else settings.policy_ids
    if args.policy:
        policy_named(args.policy, settings)
    policies = load_policies(settings.policy_dir, ids)

    async def run() -> int:
        async with TinyDBStore(args.data or settings.data_dir) as store:
            return await Console(await make_engine(store, policies, settings, SystemClock()), args.user).run()

    return asyncio.run(run())


def parse_instant(text: str, option: str) -> datetime:
    """An ISO date-time; without a zone it is London time."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(f"{option} must be a date and time like 2026-11-25T09:00 (found {text!r})") from None
    if not 1900 <= moment.year <= 2999:
        raise UsageError(f"{option} must be between 1900 and 2999 (found {text!r})")
    return moment if moment.tzinfo else moment.replace(tzinfo=LONDON)


def cmd_tick(args: argparse.Namespace, settings: Settings) -> int:
    from adapters.console import render
    from bot.clock import FixedClock
    from bot.notify import Outbox, PrintSender
    from bot.wiring import make_engine
    from storage.tinydb_store import TinyDBStore

    now = parse_instant(args.now, "--now")
    policies = load_policies(settings.policy_dir, settings.policy_ids)

    async def run() -> int:
        outbox = Outbox()
        outbox.register("console", PrintSender(lambda _: None, render))  # tick's own line is the delivery
        async with TinyDBStore(args.data or settings.data_dir) as store:
            engine = await make_engine(store, policies, settings, FixedClock(now), outbox)
            for sent in await engine.scheduler.tick(now):
                text = " ".join(sent.text.split())
                print(f"{sent.ref}\tstage {sent.stage}\t{sent.kind}\t{sent.thread.channel}:"
                      f"{sent.thread.conversation}\t{text}")
            posted = await engine.weekly.tick(now)
            if posted:
                print(f"summary\t{posted}\tposted to {settings.summary_target}")
        return 0

    return asyncio.run(run())


def cmd_summary(args: argparse.Namespace, settings: Settings) -> int:
    from bot import summary
    from bot.chart import summary_png
    from storage.tinydb_store import TinyDBStore

    policies = load_policies(settings.policy_dir)
    if args.policy:
        policy_named(args.policy, settings)
    try:
        monday = summary.parse_week(args.week) if args.week else summary.last_full_week(date.today())
    except ValueError as exc:
        raise UsageError(f"--week: {exc}") from None

    async def run() -> int:
        async with TinyDBStore(args.data or settings.data_dir) as store:
            cases = [doc for _, doc in await store.scan("cases")]
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


def stored_directory(data_dir: Path, policy_ids: list[str]) -> tuple[Directory, bool]:
    """The imported directory and True, else the demo directory and False (a missing data folder is not created)."""
    from bot.directory import load_directory
    from bot.directory_csv import demo_directory
    from storage.tinydb_store import TinyDBStore

    async def load() -> Directory | None:
        async with TinyDBStore(data_dir) as store:
            return await load_directory(store)

    found = asyncio.run(load()) if data_dir.is_dir() else None
    return (found, True) if found is not None else (demo_directory(policy_ids), False)


def cmd_directory(args: argparse.Namespace, settings: Settings) -> int:
    from bot.directory import save_directory
    from bot.directory_csv import DirectoryCsvError, export_directory_csv, read_directory_csv
    from storage.tinydb_store import TinyDBStore

    policy_ids = list(load_policies(settings.policy_dir))
    data_dir = args.data or settings.data_dir
    if args.action == "export":
        directory, imported = stored_directory(data_dir, policy_ids)
        if not imported:
            print("note: no directory has been imported; this is the demo directory", file=sys.stderr)
        sys.stdout.write(export_directory_csv(directory))
        return 0
    if not args.file.is_file():
        raise UsageError(f"{args.file}: no such file")
    try:
        directory = read_directory_csv(args.file, policy_ids)
    except DirectoryCsvError as exc:
        for problem in exc.problems:
            print(f"{args.file}: {problem}", file=sys.stderr)
        print(f"error: {args.file} was not imported ({len(exc.problems)} problems); nothing changed", file=sys.stderr)
        return 2

    async def save() -> None:
        async with TinyDBStore(data_dir) as store:
            await save_directory(store, directory)

    asyncio.run(save())
    print(f"Imported {len(directory)} people from {args.file} ({len(directory.agencies())} agencies).")
    return 0


def cmd_counterpart(args: argparse.Namespace, settings: Settings) -> int:
    from bot.directory import counterparts

    policy = policy_named(args.policy, settings)
    stage = policy.stage(args.stage)
    if stage is None:
        numbers = ", ".join(str(s.number) for s in policy.stages)
        raise UsageError(f"{policy.id} has no stage {args.stage}; its stages are {numbers}")
    directory, _ = stored_directory(args.data or settings.data_dir, list(load_policies(settings.policy_dir)))
    found = counterparts(directory, policy, args.stage, None, "", args.agency)
    person = found.other_side
    if person is not None:
        role = f"{person.role}, " if person.role else ""
        print(f"{person.name} <{person.email}>, {role}{person.agency} ({TIER_LABELS[person.tier]})")
    elif stage.other_tier == "none":
        print(f"none: {policy.stage_title(args.stage)} is within your own agency; the other agency does not act")
    else:
        print(f"not in the directory: {' '.join(found.other_notes)}")
    return 0


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        load_dotenv_file()
        settings = read_settings()
        if args.command == "chat" and "BOT_LOG_LEVEL" not in os.environ:
            logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
        else:
            logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        commands = {
            "policies": lambda: cmd_policies(settings),
            "due": lambda: cmd_due(args, settings),
            "timeline": lambda: cmd_timeline(args, settings),
            "chat": lambda: cmd_chat(args, settings),
            "serve": lambda: cmd_serve(args, settings),
            "tick": lambda: cmd_tick(args, settings),
            "summary": lambda: cmd_summary(args, settings),
            "directory": lambda: cmd_directory(args, settings),
            "counterpart": lambda: cmd_counterpart(args, settings),
        }
        return commands[args.command]()
    except (UsageError, ConfigError, PolicyError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # the store in use, a full disk, ...: one line, details in the log
        from storage.base import StoreError

        if isinstance(exc, StoreError):
            print(f"error: {exc}", file=sys.stderr)
            return 1
        raise
