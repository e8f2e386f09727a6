"""The operator's commands for legal matters and data subjects' requests: `hold`, `release` and `subject-access`.

Like export and purge (bot/cli/records.py) they read cases without the chat's per-person checks, so only the service
account on the server should run them; each is written to the audit log as "cli:<OS user>", never with what was typed
(a hold's reason, an agency's reference) nor anything of the case. A refusal (no such case, held already, not held,
nothing matching) changes and shows nothing, exits 2 with one line, and is not logged.

hold and release change a case: on the embedded store they need the bot stopped, as purge does (the data folder is
the running bot's alone); on PostgreSQL they run beside the replicas (each is one atomic update of the case, and a
purge running at the same moment removes a case only if it is still not held). subject-access only reads and adds
its audit entries, so it runs beside the bot like export.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from bot.cli.common import UsageError, add_data, has_data, run_operation
from bot.cli.records import REF, _write, operator, shared_beside_bot
from bot.config import Settings
from bot.dates.workdays import LONDON


def add_parsers(sub: Any) -> None:
    """Add hold, release and subject-access to the command line's subparsers."""
    hold = sub.add_parser("hold", help="put a case on legal hold: purge keeps it, however long ago it closed, until "
                          "it is released (operators)")
    hold.add_argument("ref", metavar="REF", help="the case reference, e.g. ESC-2026-0001")
    hold.add_argument("--reason", required=True, metavar="TEXT", help="why it is held (a matter's name or number); "
                      "kept sealed with the case, never in the audit log")
    add_data(hold)
    release = sub.add_parser("release", help="take a case off legal hold (operators)")
    release.add_argument("ref", metavar="REF", help="the case reference, e.g. ESC-2026-0001")
    add_data(release)
    access = sub.add_parser("subject-access", help="everything held about a case, or every case carrying an "
                            "agency's own reference, as one JSON file (operators)")
    which = access.add_mutually_exclusive_group(required=True)
    which.add_argument("ref", nargs="?", metavar="REF", help="the case reference, e.g. ESC-2026-0001")
    which.add_argument("--agency-ref", metavar="TEXT", help="the raising agency's own reference for the child (the "
                       "Stage 1 answer), matched whole, ignoring letter case")
    access.add_argument("--out", required=True, metavar="PATH", type=Path,
                        help="file to write (a folder: REF-subject-access.json, or subject-access.json, in it)")
    add_data(access)


def case_ref(text: str) -> str:
    ref = text.strip().upper()
    if not REF.match(ref):
        raise UsageError(f"REF must be a case reference like ESC-2026-0001 (found {text!r})")
    return ref


def cmd_hold(args: argparse.Namespace, settings: Settings) -> int:
    from bot.records.hold import HoldRefused, checked_reason

    ref = case_ref(args.ref)
    try:
        reason = checked_reason(args.reason)
    except HoldRefused as exc:
        raise UsageError(str(exc)) from None
    data_dir = args.data or settings.data_dir
    if not has_data(settings, data_dir):
        raise UsageError(f"no case {ref} (no data folder {data_dir})")
    return run_operation(settings, data_dir, "hold", {"ref": ref, "reason": reason})


def cmd_release(args: argparse.Namespace, settings: Settings) -> int:
    ref = case_ref(args.ref)
    data_dir = args.data or settings.data_dir
    if not has_data(settings, data_dir):
        raise UsageError(f"no case {ref} (no data folder {data_dir})")
    return run_operation(settings, data_dir, "release", {"ref": ref})


def cmd_subject_access(args: argparse.Namespace, settings: Settings) -> int:
    from bot.cases.trail import log_event
    from bot.records.subject_access import by_agency_reference, by_ref, document, gather

    ref = case_ref(args.ref) if args.ref is not None else ""
    wanted = "" if ref else str(args.agency_ref).strip()
    if not ref and not wanted:
        raise UsageError("--agency-ref must not be empty")
    out: Path = args.out
    if out.is_dir():
        out = out / (f"{ref}-subject-access.json" if ref else "subject-access.json")
    if not out.parent.is_dir():
        raise UsageError(f"--out: no such folder {out.parent}")
    nothing = f"no case {ref}" if ref else "no case carries that agency reference (matched whole, ignoring case)"
    data_dir = args.data or settings.data_dir
    if not has_data(settings, data_dir):
        raise UsageError(f"{nothing} (no data folder {data_dir})")

    async def run() -> list[str]:
        async with shared_beside_bot(settings, data_dir) as store:
            cases = await (by_ref(store, ref) if ref else by_agency_reference(store, wanted))
            if not cases:
                raise UsageError(nothing)
            now = datetime.now(LONDON)
            matched = {"ref": ref} if ref else {"agency_reference": wanted}
            content = document(await gather(store, cases, data_dir), matched, operator(), now)
            try:
                _write(out, (json.dumps(content, ensure_ascii=False, indent=2) + "\n").encode("utf-8"))
            except OSError as exc:
                raise UsageError(f"cannot write {out}: {exc.strerror or exc} (it is written as a new file in its "
                                 "folder, so the folder must be writable)") from None
            refs = [str(case["ref"]) for case in cases]
            how = "by its reference" if ref else "by the raising agency's reference"
            for found in cases:  # (one entry per case, so each case's trail shows it; never what was matched)
                await log_event(store, {"at": now.isoformat(), "by": operator(), "action": "subject_access",
                                        "ref": found["ref"], "policy": found.get("policy", ""),
                                        "detail": f"everything held written to a file; {len(refs)} case(s) "
                                                  f"found {how}"})
            return refs

    refs = asyncio.run(run())
    print(f"Wrote {out}: everything held about {len(refs)} case(s) ({', '.join(refs)}), readable by you only. It "
          "holds a child's details: keep it as securely as the case records.")
    if len(refs) > 1:
        print("Check that each case is about the person asking before anything is disclosed: an agency's reference "
              "may have been mistyped for another child.")
    return 0


COMMANDS: dict[str, Callable[[argparse.Namespace, Settings], int]] = {
    "hold": cmd_hold,
    "release": cmd_release,
    "subject-access": cmd_subject_access,
}
