"""Command-line tools for the directory: `directory import|export` and `counterpart`."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.cli.common import Parser, UsageError, add_data, has_data, policy_named, run_operation, shared_beside_bot
from bot.config import Settings
from policies.loader import load_policies
from policies.model import TIER_LABELS

if TYPE_CHECKING:
    from bot.people.directory import Directory


def add_parsers(sub: Any) -> None:
    directory = sub.add_parser("directory", help="import or export the directory of people (CSV)")
    actions = directory.add_subparsers(dest="action", metavar="ACTION", parser_class=Parser)
    actions.required = True
    load = actions.add_parser("import", help="replace the directory with a CSV file (refused whole if it has problems)")
    load.add_argument("file", metavar="FILE.csv", type=Path)
    add_data(load)
    dump = actions.add_parser("export", help="print the directory as CSV (the demo directory if none is imported)")
    add_data(dump)
    counterpart = sub.add_parser("counterpart", help="who in the other agency acts at a stage, from the directory")
    counterpart.add_argument("--policy", required=True, metavar="ID")
    counterpart.add_argument("--agency", required=True, metavar="NAME", help="the other agency")
    counterpart.add_argument("--stage", required=True, type=int, metavar="N")
    add_data(counterpart)


def stored_directory(settings: Settings, data_dir: Path, policy_ids: list[str]) -> tuple[Directory, bool]:
    """The imported directory and True, else the demo directory and False (a missing data folder is not created)."""
    from bot.people.directory import load_directory
    from bot.people.directory_csv import demo_directory
    async def load() -> Directory | None:
        async with shared_beside_bot(settings, data_dir) as store:  # (beside a running bot too: it only reads)
            return await load_directory(store)

    found = asyncio.run(load()) if has_data(settings, data_dir) else None
    return (found, True) if found is not None else (demo_directory(policy_ids), False)


def cmd_directory(args: argparse.Namespace, settings: Settings) -> int:
    from bot.people.directory_csv import export_directory_csv
    policy_ids = list(load_policies(settings.policy_dir))
    data_dir = args.data or settings.data_dir
    if args.action == "export":
        directory, imported = stored_directory(settings, data_dir, policy_ids)
        if not imported:
            print("note: no directory has been imported; this is the demo directory", file=sys.stderr)
        sys.stdout.write(export_directory_csv(directory))
        return 0
    if not args.file.is_file():
        raise UsageError(f"{args.file}: no such file")
    # (checked here first, so that a file with problems is refused without opening the store or asking the bot)
    from bot.people.directory_csv import DirectoryCsvError, read_directory_csv
    try:
        read_directory_csv(args.file, policy_ids)
    except DirectoryCsvError as exc:
        for problem in exc.problems:
            print(f"{args.file}: {problem}", file=sys.stderr)
        print(f"error: {args.file} was not imported ({len(exc.problems)} problems); nothing changed", file=sys.stderr)
        return 2
    text = args.file.read_bytes().decode("utf-8-sig")
    return run_operation(settings, data_dir, "directory-import", {"csv": text, "file": str(args.file)})


def cmd_counterpart(args: argparse.Namespace, settings: Settings) -> int:
    from bot.people.counterparts import counterparts

    policy = policy_named(args.policy, settings)
    stage = policy.stage(args.stage)
    if stage is None:
        numbers = ", ".join(str(s.number) for s in policy.stages)
        raise UsageError(f"{policy.id} has no stage {args.stage}; its stages are {numbers}")
    directory, _ = stored_directory(settings, args.data or settings.data_dir, list(load_policies(settings.policy_dir)))
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


COMMANDS: dict[str, Callable[[argparse.Namespace, Settings], int]] = {
    "directory": cmd_directory,
    "counterpart": cmd_counterpart,
}
