"""The command line: `python -m bot COMMAND`. Usage errors exit 2 with one clear line on stderr."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Callable
from datetime import date
from typing import Any

from bot.cli import backup as cli_backup
from bot.cli import check as cli_check
from bot.cli import keys as cli_keys
from bot.cli import legal as cli_legal
from bot.cli import people as cli_people
from bot.cli import records as records_cli
from bot.cli import run as cli_run
from bot.cli.common import Parser, UsageError, parse_date, policy_named
from bot.config import ConfigError, Settings, load_dotenv_file, read_settings
from policies.loader import load_policies
from policies.model import Policy
from policies.reader import PolicyError

MODULES = (cli_run, cli_people, records_cli, cli_legal, cli_keys, cli_check, cli_backup)


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
    timeline.add_argument("--json", action="store_true", help="print JSON for machines (default: a table for people)")
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
    if args.json:
        print(json.dumps({"policy": policy.id, "stages": stages, "overall_due": cap.isoformat() if cap else None}))
    else:
        print(timeline_table(policy, raised, stages, cap))
    return 0


def timeline_table(policy: Policy, raised: date, stages: list[dict[str, Any]], cap: date | None) -> str:
    """The timeline for a person: a heading, then one aligned row per stage (its number, its due date written out,
    its name), and the overall cap where the procedure has one."""
    def written(day: date) -> str:
        return f"{day:%a} {day.day} {day:%b %Y}"

    dues = [written(date.fromisoformat(s["due"])) if s["due"] else "no set timescale" for s in stages]
    label = policy.stage_label
    rows = [(label, "Due by", "Name"), *((str(s["stage"]), due, s["name"]) for s, due in zip(stages, dues,
                                                                                                strict=True))]
    widths = [max(len(row[i]) for row in rows) for i in range(2)]
    lines = [f"{policy.name} ({policy.id}): raised {written(raised)}; the worst case, each "
             f"{label.lower()} starting when the one before falls due (working days)", ""]
    lines += [f"{row[0]:<{widths[0]}}  {row[1]:<{widths[1]}}  {row[2]}" for row in rows]
    if cap is not None and policy.overall is not None:
        lines += ["", f"Overall cap: {written(cap)} ({policy.overall.working_days} working days from the outset; "
                      f"{policy.overall.cite})"]
    return "\n".join(lines)


class PersonFormatter(logging.Formatter):
    """Log lines for a person using the console: "(problem) ..." or "(note) ...", no module names or tracebacks
    (the kind of error is named; operators who need more run the server, whose log has them)."""

    def format(self, record: logging.LogRecord) -> str:
        kind = "problem" if record.levelno >= logging.ERROR else "note" if record.levelno >= logging.WARNING \
            else record.levelname.lower()
        text = record.getMessage()
        if record.exc_info and record.exc_info[1] is not None:
            text += f" ({type(record.exc_info[1]).__name__})"
        return f"({kind}) {text}"


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
        if args.command == "chat":  # (a person at a terminal: their problems, in their words, beside the chat)
            level = settings.log_level if "BOT_LOG_LEVEL" in os.environ else logging.WARNING
            handler = logging.StreamHandler()
            handler.setFormatter(PersonFormatter())
            logging.basicConfig(level=level, handlers=[handler])
        else:
            from bot.door.logs import log_handler

            logging.basicConfig(level=settings.log_level, handlers=[log_handler(settings.log_format)])
        return commands()[args.command](args, settings)
    except (UsageError, ConfigError, PolicyError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # the store in use, a full disk, ...: one line, details in the log
        from storage.base import StoreError
        from storage.keys import KeyringError

        if isinstance(exc, KeyringError):  # (a master key missing or wrong is a setting: it stops start-up, as they do)
            print(f"error: {exc}", file=sys.stderr)
            return 2
        if isinstance(exc, StoreError):
            print(f"error: {exc}", file=sys.stderr)
            return 1
        raise
