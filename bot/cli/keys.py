"""`python -m bot keys new|status`: the master keys that seal the stored data (storage.keys, storage.sealed)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from bot.cli.common import Parser, add_data, has_data
from bot.config import Settings


def add_parsers(sub: Any) -> None:
    keys = sub.add_parser("keys", help="make a master key, or see which keys seal the data (a rotation's progress)")
    actions = keys.add_subparsers(dest="action", metavar="ACTION", parser_class=Parser)
    actions.required = True
    new = actions.add_parser("new", help="make a new master key: added as the current key at the top of --file "
                             "(older keys kept below it), or printed for BOT_MASTER_KEY / a secret manager")
    new.add_argument("--file", metavar="PATH", type=Path, help="the key file (BOT_MASTER_KEY_FILE) to add it to")
    status = actions.add_parser("status", help="which master keys wrap the data keys, and which may be removed")
    add_data(status)


def cmd_keys(args: argparse.Namespace, settings: Settings) -> int:
    from storage.keys import key_id, new_key, parse_key, write_key_file

    # `keys new` leaves no audit-log entry: it opens no store (it makes a key and prints it, or adds it to a key
    # file), so there is no audit log to write to, and it reads no case. The store records the key when it first
    # wraps a data key under it, and `keys status` (audited) shows it from then on.
    if args.action == "new":
        if args.file is None:
            key = new_key()
            print(key)
            print(f"(master key {key_id(parse_key(key, 'the new key'))}: keep it in a secret store, give it to the "
                  "bot as BOT_MASTER_KEY, and never beside the data or its backups)", file=sys.stderr, flush=True)
            return 0
        made = write_key_file(args.file)
        print(f"Added master key {made} to {args.file} as the current key (mode 600). A running bot reads the file "
              "again at its next pass and re-wraps every data key under it; `python -m bot keys status` shows when "
              "the older keys below it may be removed.")
        return 0
    data_dir = args.data or settings.data_dir
    if not has_data(settings, data_dir):
        print(f"No store at {data_dir} yet: nothing is sealed.")
        return 0

    async def status() -> dict[str, Any]:
        from bot.cases.trail import log_event
        from bot.cli.records import operator, shared_beside_bot
        from bot.dates.workdays import LONDON

        async with shared_beside_bot(settings, data_dir) as store:
            found: dict[str, Any] = await store.key_status()  # type: ignore[attr-defined]
            await log_event(store, {"at": datetime.now(LONDON).isoformat(), "by": operator(),
                                    "action": "keys_status", "detail": f"current master key {found['current']}"})
            return found

    found = asyncio.run(status())
    print(f"Current master key: {found['current']} (held: {', '.join(found['held'])})")
    for kek, count in found["in_use"].items():
        print(f"  {kek}: wraps {count} data key(s)")
    spare = [kek for kek in found["held"] if kek not in found["in_use"] and kek != found["current"]]
    older = [kek for kek, count in found["in_use"].items() if kek != found["current"]]
    if older:
        print(f"Re-wrapping under {found['current']} is under way (a batch each scheduler pass); keep "
              f"{', '.join(older)} until it is done.")
    if spare:
        print(f"No data key is wrapped under {', '.join(spare)}: it may be removed from the key file.")
    return 0


COMMANDS: dict[str, Callable[[argparse.Namespace, Settings], int]] = {"keys": cmd_keys}
