"""`python -m bot backup` and `restore`: the embedded store and its data keys as one archive, and back (operators)."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from bot.cli.common import UsageError, add_data, run_operation
from bot.config import Settings


def add_parsers(sub: Any) -> None:
    backup = sub.add_parser("backup", help="write the data folder and its data keys, as they stand at one moment, to "
                            "one archive (never the master key); done by the running bot if one has the data folder")
    backup.add_argument("--out", required=True, metavar="FILE|FOLDER", type=Path,
                        help="a new .tar.gz (or .tar) file, or a folder: a dated file is made in it")
    add_data(backup)
    restore = sub.add_parser("restore", help="put a backup back into an empty data folder (and empty data-key "
                             "folder), checked first; needs the master key it was made under")
    restore.add_argument("archive", metavar="FILE", type=Path, help="the backup (.tar.gz or .tar)")
    restore.add_argument("--despite-audit-break", action="store_true",
                         help="restore even if the backup's audit trail is broken (the break is recorded)")
    add_data(restore)


def cmd_backup(args: argparse.Namespace, settings: Settings) -> int:
    from bot.dates.workdays import LONDON
    from bot.records.backup import PG_DUMP, backup_path
    from storage.backup import BackupError

    if settings.database_url:
        raise UsageError(f"backup is for the embedded store; {PG_DUMP}")
    data = args.data or settings.data_dir
    if not (data / "meta.json").is_file():
        raise UsageError(f"there is no store at {data} to back up (no meta.json); give --data or BOT_DATA_DIR")
    now = datetime.now(LONDON).replace(microsecond=0)
    try:
        backup_path(args.out, now)  # (checked again as it is made: here, a wrong --out is refused before anything)
    except BackupError as exc:
        raise UsageError(f"--out: {exc}") from None

    # (the path as the running bot must see it: it may run from another folder than this command)
    return run_operation(settings, data, "backup", {"out": str(args.out.absolute()), "now": now.isoformat()})


def cmd_restore(args: argparse.Namespace, settings: Settings) -> int:
    from bot.admin.ops import operator
    from bot.dates.workdays import LONDON
    from bot.records.backup import PG_DUMP, Restored, restore
    from bot.records.verify import report
    from storage import KeySource, default_key_dir
    from storage.lockfile import holder

    if settings.database_url:
        raise UsageError(f"restore is for the embedded store; {PG_DUMP}")
    archive: Path = args.archive
    if not archive.is_file():
        raise UsageError(f"there is no backup file {archive}")
    data = args.data or settings.data_dir
    keys = settings.key_dir or default_key_dir(data)
    running = holder(data)
    if running is not None:  # (before anything else: moving its folder aside would pull it from under a serving bot)
        raise UsageError(f"the bot (process {running}) is running on {data}: stop it first (systemctl stop "
                         "escalation-bot), then restore into an empty data folder")
    now = datetime.now(LONDON).replace(microsecond=0)

    async def run() -> Restored:
        return await restore(archive, data, keys, KeySource(settings.master_key, settings.master_key_file),
                             by=operator(), now=now, despite_break=args.despite_audit_break)

    done = asyncio.run(run())
    made = done.manifest.get("made_at", "an unknown time")
    print(f"Restored {archive.name} (made at {made} by bot {done.manifest.get('bot_version', '?')}) into {data}, and "
          f"its data keys into {keys}.")
    print(f"Cases restored: {done.verdict.cases}.")
    for line in report(done.verdict):
        print(line)
    entry = done.entry.removeprefix('chain-').lstrip('0') or done.entry
    print(f"The restore is in the audit log as entry {entry}, after the check above: the head is now entry {entry} "
          "(`audit verify` prints the Head line to keep).")
    print("Start the bot, with the same master key (BOT_MASTER_KEY_FILE), and check `python -m bot audit verify`.")
    return 0


COMMANDS: dict[str, Callable[[argparse.Namespace, Settings], int]] = {"backup": cmd_backup, "restore": cmd_restore}
