"""The command line: `python -m bot COMMAND`. Usage errors exit 2 with one clear line on stderr."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Callable

from bot.cli import people as cli_people
from bot.cli import records as records_cli
from bot.cli import run as cli_run
from bot.cli.common import Parser, UsageError, parse_date, policy_named
from bot.config import ConfigError, Settings, load_dotenv_file, read_settings
from policies.loader import load_policies
from policies.reader import PolicyError

MODULES = (cli_run, cli_people, records_cli)


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
    for module in MODULES:
        module.add_parsers(sub)
    return parser


def cmd_policies(args: argparse.Namespace, settings: Settings) -> int:
    for policy in load_policies(settings.policy_dir, settings.policy_ids).values():
        print(f"{policy.id}\t{policy.name}")
    return 0


def cmd_due(args: argparse.Namespace, settings: Settings) -> int:
    from bot.dates.timeline import stage_due

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
    from bot.dates.timeline import overall_due, worst_case

    policy = policy_named(args.policy, settings)
    raised = parse_date(args.raised, "--raised")
    stages = [
        {"stage": s.stage.number, "name": s.stage.name, "due": s.due.isoformat() if s.due else None}
        for s in worst_case(policy, raised)
    ]
    cap = overall_due(policy, raised)
    print(json.dumps({"policy": policy.id, "stages": stages, "overall_due": cap.isoformat() if cap else None}))
    return 0


def commands() -> dict[str, Callable[[argparse.Namespace, Settings], int]]:
    table: dict[str, Callable[[argparse.Namespace, Settings], int]] = {
        "policies": cmd_policies, "due": cmd_due, "timeline": cmd_timeline,
    }
    for module in MODULES:
        table.update(module.COMMANDS)
    return table


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        load_dotenv_file()
        settings = read_settings()
        if args.command == "chat" and "BOT_LOG_LEVEL" not in os.environ:
            logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
        else:
            logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        return commands()[args.command](args, settings)
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
