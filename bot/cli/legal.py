"""The operator's commands for legal matters: `hold` and `release`.

Like export and purge (bot/cli/records.py) they read cases without the chat's per-person checks, so only the service
account on the server should run them; each is written to the audit log as "cli:<OS user>", never with what was typed
(a hold's reason) nor anything of the case. A refusal (no such case, held already, not held) changes and shows
nothing, exits 2 with one line, and is not logged.

hold and release change a case: on the embedded store they need the bot stopped, as purge does (the data folder is
the running bot's alone); on PostgreSQL they run beside the replicas (each is one atomic update of the case, and a
purge running at the same moment removes a case only if it is still not held).
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable
from datetime import datetime
from typing import Any

from bot.cli.common import UsageError, add_data, has_data, refused_while_in_use, store_of
from bot.cli.records import REF, operator
from bot.config import Settings
from bot.dates.workdays import LONDON

IN_USE = ("{command} changes the case, and the embedded store is the running bot's alone, so it runs only while the "
          "bot is stopped (on PostgreSQL it runs beside the replicas); export and audit work beside it")


def add_parsers(sub: Any) -> None:
    """Add hold and release to the command line's subparsers."""
    hold = sub.add_parser("hold", help="put a case on legal hold: purge keeps it, however long ago it closed, until "
                          "it is released (operators)")
    hold.add_argument("ref", metavar="REF", help="the case reference, e.g. ESC-2026-0001")
    hold.add_argument("--reason", required=True, metavar="TEXT", help="why it is held (a matter's name or number); "
                      "kept sealed with the case, never in the audit log")
    add_data(hold)
    release = sub.add_parser("release", help="take a case off legal hold (operators)")
    release.add_argument("ref", metavar="REF", help="the case reference, e.g. ESC-2026-0001")
    add_data(release)


def case_ref(text: str) -> str:
    ref = text.strip().upper()
    if not REF.match(ref):
        raise UsageError(f"REF must be a case reference like ESC-2026-0001 (found {text!r})")
    return ref


def cmd_hold(args: argparse.Namespace, settings: Settings) -> int:
    from bot.records.hold import HoldRefused, checked_reason, place

    ref = case_ref(args.ref)
    try:
        reason = checked_reason(args.reason)
    except HoldRefused as exc:
        raise UsageError(str(exc)) from None
    data_dir = args.data or settings.data_dir
    if not has_data(settings, data_dir):
        raise UsageError(f"no case {ref} (no data folder {data_dir})")
    now = datetime.now(LONDON)

    async def run() -> None:
        async with store_of(settings, data_dir) as store:
            try:
                await place(store, ref, reason, operator(), now)
            except HoldRefused as exc:
                raise UsageError(str(exc)) from None

    with refused_while_in_use(IN_USE.format(command="hold")):
        asyncio.run(run())
    print(f"{ref} is on legal hold from {now.date()}: purge keeps it, however long ago it closed, until "
          f"`python -m bot release {ref}`. Recorded in the audit log (without the reason).")
    return 0


def cmd_release(args: argparse.Namespace, settings: Settings) -> int:
    from bot.records.hold import Hold, HoldRefused, release

    ref = case_ref(args.ref)
    data_dir = args.data or settings.data_dir
    if not has_data(settings, data_dir):
        raise UsageError(f"no case {ref} (no data folder {data_dir})")

    async def run() -> Hold:
        async with store_of(settings, data_dir) as store:
            try:
                return await release(store, ref, operator(), datetime.now(LONDON))
            except HoldRefused as exc:
                raise UsageError(str(exc)) from None

    with refused_while_in_use(IN_USE.format(command="release")):
        was = asyncio.run(run())
    print(f"{ref} is no longer on legal hold (held since {was.since} by {was.by}): purge removes it once its "
          "retention period has passed. Recorded in the audit log.")
    return 0


COMMANDS: dict[str, Callable[[argparse.Namespace, Settings], int]] = {
    "hold": cmd_hold,
    "release": cmd_release,
}
