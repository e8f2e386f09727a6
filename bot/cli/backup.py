"""`python -m bot backup` and `restore`: the embedded store and its data keys as one archive, and back (operators)."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from bot.cli.common import UsageError, add_data, store_of
from bot.config import Settings


def add_parsers(sub: Any) -> None:
    backup = sub.add_parser("backup", help="write the data folder and its data keys, as they stand at one moment, to "
                            "one archive (never the master key); the bot must be stopped")
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
    from bot.admin.ops import operator
    from bot.dates.workdays import LONDON
    from bot.records.backup import KEEP_APART, PG_DUMP, BackupReport, backup_path, make_backup
    from storage import StoreInUse, default_key_dir
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

    async def run() -> BackupReport:
        async with store_of(settings, data, existing=True) as store:
            return await make_backup(store, args.out, by=operator(), now=now)

    try:
        report = asyncio.run(run())
    except StoreInUse as exc:  # (not yet an operation the running bot does through its administration socket)
        raise StoreInUse(f"{exc} (backup is not yet done by the running bot: stop it, back up, start it again; the "
                         "nightly unit deploy/escalation-bot-backup.service does that)", holder=exc.holder) from None
    keys = settings.key_dir or default_key_dir(data)
    size = f"{report.size / 1e6:.1f} MB" if report.size >= 100_000 else f"{report.size / 1e3:.1f} kB"
    head = f"; audit head entry {report.head}" if report.head is not None else ""
    print(f"Backed up {data} and its data keys ({keys}) to {report.path} ({size}): {report.cases} case(s), "
          f"{report.audit_entries} audit-log entries, this backup's own among them{head}.")
    wrapped = f" (its data keys are wrapped under master key {', '.join(report.master_keys)})" \
        if report.master_keys else ""
    print(f"{KEEP_APART[0].upper()}{KEEP_APART[1:]}{wrapped}, and never in the same place as the backups.")
    print(f"Restore with: python -m bot restore {report.path} (into an empty data folder).")
    return 0


def cmd_restore(args: argparse.Namespace, settings: Settings) -> int:
    from bot.admin.ops import operator
    from bot.dates.workdays import LONDON
    from bot.records.backup import PG_DUMP, Restored, restore
    from bot.records.verify import report
    from storage import KeySource, default_key_dir

    if settings.database_url:
        raise UsageError(f"restore is for the embedded store; {PG_DUMP}")
    archive: Path = args.archive
    if not archive.is_file():
        raise UsageError(f"there is no backup file {archive}")
    data = args.data or settings.data_dir
    keys = settings.key_dir or default_key_dir(data)
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
    print(f"The restore is in the audit log as entry {done.entry.removeprefix('chain-').lstrip('0') or done.entry}.")
    print("Start the bot, with the same master key (BOT_MASTER_KEY_FILE), and check `python -m bot audit verify`.")
    return 0


COMMANDS: dict[str, Callable[[argparse.Namespace, Settings], int]] = {"backup": cmd_backup, "restore": cmd_restore}
