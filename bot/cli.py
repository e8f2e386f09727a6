"""The command line: `python -m bot COMMAND`. Usage errors exit 2 with one clear line on stderr."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import re
import sys
from datetime import date
from pathlib import Path
from typing import NoReturn

from bot.config import ConfigError, Settings, load_dotenv_file, read_settings
from policies.loader import load_policies
from policies.model import Policy
from policies.reader import PolicyError

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
    serve = sub.add_parser("serve", help="run the bot's web server (Slack, Teams and /healthz)")
    serve.add_argument("--host", metavar="HOST", help="address to bind (default: BOT_HOST or 127.0.0.1)")
    serve.add_argument("--port", metavar="PORT", type=int, help="port (default: BOT_PORT or 3978)")
    serve.add_argument("--data", metavar="DIR", type=Path, help="data folder (default: BOT_DATA_DIR or ./data)")
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
    from bot.engine import Engine
    from storage.tinydb_store import TinyDBStore

    if not EMAIL.match(args.user):
        raise UsageError(f"--user must be an email address (found {args.user!r})")
    ids = (args.policy,) if args.policy else settings.policy_ids
    if args.policy:
        policy_named(args.policy, settings)
    policies = load_policies(settings.policy_dir, ids)

    async def run() -> int:
        async with TinyDBStore(args.data or settings.data_dir) as store:
            return await Console(Engine(store, policies, SystemClock()), args.user).run()

    return asyncio.run(run())


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    from bot.app import serve

    if args.port is not None and not 1 <= args.port <= 65535:
        raise UsageError(f"--port must be from 1 to 65535 (found {args.port})")
    policies = load_policies(settings.policy_dir, settings.policy_ids)
    return serve(settings, policies, host=args.host, port=args.port, data_dir=args.data)


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
