"""Command-line tools for the directory: `directory import|export` and `counterpart`."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.cli.common import Parser, UsageError, add_data, has_data, policy_named, refused_while_in_use, store_of
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
        async with store_of(settings, data_dir, existing=True) as store:
            return await load_directory(store)

    found = asyncio.run(load()) if has_data(settings, data_dir) else None
    return (found, True) if found is not None else (demo_directory(policy_ids), False)


def cmd_directory(args: argparse.Namespace, settings: Settings) -> int:
    from bot.people.directory import save_directory
    from bot.people.directory_csv import DirectoryCsvError, export_directory_csv, read_directory_csv
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
    try:
        directory = read_directory_csv(args.file, policy_ids)
    except DirectoryCsvError as exc:
        for problem in exc.problems:
            print(f"{args.file}: {problem}", file=sys.stderr)
        print(f"error: {args.file} was not imported ({len(exc.problems)} problems); nothing changed", file=sys.stderr)
        return 2

    async def save() -> None:
        from bot.cases.trail import log_event
        from bot.cli.records import operator
        from bot.dates.workdays import LONDON

        async with store_of(settings, data_dir) as store:
            await save_directory(store, directory)
            await log_event(store, {"at": datetime.now(LONDON).isoformat(), "by": operator(),
                                    "action": "directory_imported",  # (how many, never who: the file is the record)
                                    "detail": f"{len(directory)} people, {len(directory.agencies())} agencies"})

    with refused_while_in_use("the embedded store is the running bot's alone, so import it while the bot is stopped "
                              "(on PostgreSQL, import beside running replicas)"):
        asyncio.run(save())
    print(f"Imported {len(directory)} people from {args.file} ({len(directory.agencies())} agencies).")
    if settings.database_url:
        print(f"Running replicas use it from their next scheduler pass (within {settings.tick_seconds} s).")
    return 0


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
