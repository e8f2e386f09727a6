"""The records commands `export`, `audit` and `purge`: an operator's tools on the server, for authorised people only."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import re
import sys
import tempfile
from collections.abc import Callable
from contextlib import suppress
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.admin.ops import operator
from bot.cli.common import Parser, UsageError, add_data, has_data, parse_date, run_operation, shared_beside_bot
from bot.config import ConfigError, Settings, load_dotenv_file, read_settings
from bot.dates.workdays import LONDON
from policies.loader import load_policies
from policies.reader import PolicyError

if TYPE_CHECKING:
    pass

# They read the store directly, without the chat's per-person checks: whoever can run them can read every case, so
# run them only as the service account on the server. Each export, audit and purge is written to the audit log (by
# "cli:<OS user>"). bot/cli.py lists this module in MODULES; `python -m bot.cli.records ...` runs them on their own.
# export and audit also run while the bot is serving: they open the store as a guest beside it (`shared_beside_bot`),
# which reads and adds audit-log entries only. purge refuses then: it deletes what the running bot may be using.
REF = re.compile(r"^ESC-\d{4}-\d{4,}$", re.IGNORECASE)
DEFAULT_RETENTION_YEARS = 6


def retention_years(env: dict[str, str] | None = None) -> int:
    """BOT_RETENTION_YEARS: whole years kept after closure, 1-100 (default 6)."""
    text = (os.environ if env is None else env).get("BOT_RETENTION_YEARS", str(DEFAULT_RETENTION_YEARS)).strip()
    if not re.fullmatch(r"[0-9]{1,3}", text) or not 1 <= int(text) <= 100:
        raise UsageError(f"BOT_RETENTION_YEARS must be a whole number of years from 1 to 100 (found {text!r})")
    return int(text)


def add_parsers(sub: Any) -> None:
    """Add export, audit and purge to the command line's subparsers."""
    export = sub.add_parser("export", help="write a case's record, one of its forms, or its chronology (operators)")
    export.add_argument("ref", metavar="REF", help="the case reference, e.g. ESC-2026-0001")
    export.add_argument("--format", required=True, choices=("docx", "md"),
                        help="docx: the case record (or --form); md: the chronology in Markdown")
    export.add_argument("--form", metavar="ID", help="record (default for docx), chronology, or a form id of the "
                        "case's procedure (e.g. appendix2)")
    export.add_argument("--out", metavar="PATH", type=Path, help="file or folder to write (default: ./REF-KIND.docx; "
                        "md prints to standard output)")
    add_data(export)
    audit = sub.add_parser("audit", help="every recorded event of every case, as CSV or JSON; `audit verify`: check "
                           "that no audit entry was changed, removed or reordered (operators)")
    audit.add_argument("check", nargs="?", choices=("verify",), metavar="verify",
                       help="check the audit chains instead of exporting (exit 1 naming the first break)")
    audit.add_argument("--since", metavar="YYYY-MM-DD", help="only events on or after this day (London time)")
    audit.add_argument("--format", choices=("csv", "json"), help="the export's format (required unless verify)")
    add_data(audit)
    purge = sub.add_parser("purge", help="remove closed cases older than BOT_RETENTION_YEARS (default 6) years, "
                           "dedupe records of chat events older than 7 days, and unfinished forms untouched for "
                           "14 days")
    mode = purge.add_mutually_exclusive_group(required=True)
    mode.add_argument("--dry-run", action="store_true", help="only list what would be removed")
    mode.add_argument("--yes", action="store_true", help="remove them, and write the purge to the audit log")
    add_data(purge)


def _write(path: Path, content: bytes) -> None:
    """Write a file only its owner can read (it holds a child's details): a new 0600 file in the target's folder,
    then renamed over the target, so an existing file's permissions are never kept and a symlink at `path` is
    replaced, never written through."""
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            os.fchmod(out.fileno(), 0o600)
            out.write(content)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, path)
    except BaseException:
        with suppress(FileNotFoundError):
            os.unlink(temp)
        raise


def cmd_export(args: argparse.Namespace, settings: Settings) -> int:
    from bot.app import directory_for
    from bot.cases.book import CaseBook
    from bot.records.audit import log_event
    from bot.records.files import RecordError, render
    from bot.records.forms import forms_for

    ref = args.ref.strip().upper()
    if not REF.match(ref):
        raise UsageError(f"REF must be a case reference like ESC-2026-0001 (found {args.ref!r})")
    kind = args.form or ("record" if args.format == "docx" else "chronology")
    out: Path | None = args.out
    if out is not None and out.is_dir():
        out = out / f"{ref}-{kind}.{args.format}"
    if out is not None and not out.parent.is_dir():
        raise UsageError(f"--out: no such folder {out.parent}")
    data_dir = args.data or settings.data_dir
    if not has_data(settings, data_dir):
        raise UsageError(f"no case {ref} (no data folder {data_dir})")
    policies = load_policies(settings.policy_dir)

    async def run() -> int:
        async with shared_beside_bot(settings, data_dir) as store:
            case = await CaseBook(store).get(ref)
            if case is None:
                raise UsageError(f"no case {ref}")
            policy = policies.get(case.get("policy", ""))
            if policy is None:
                raise UsageError(f"{ref} was opened under policy {case.get('policy')!r}, which is not in "
                             f"{settings.policy_dir}")
            directory, _ = await directory_for(store, settings)
            now = datetime.now(LONDON)
            try:
                record = render(case, policy, kind, args.format, directory, now)
            except RecordError as exc:
                raise UsageError(str(exc)) from None
            target = out or (None if args.format == "md" else Path(record.filename))
            if target is None:
                sys.stdout.write(record.content.decode("utf-8"))
            else:
                try:
                    _write(target, record.content)
                except OSError as exc:
                    raise UsageError(f"cannot write {target}: {exc.strerror or exc} (it is written as a new file in "
                                     "its folder, so the folder must be writable)") from None
            await log_event(store, {"at": now.isoformat(), "by": operator(), "action": "record_exported",
                                    "ref": ref, "policy": policy.id, "detail": record.filename})
            if target is not None:
                print(f"Wrote {target}: {record.title}.")
                due = [f.id for f in forms_for(case, policy) if f.id != kind]
                if due:
                    print(f"Forms for this case: {', '.join(due)} (export one with --form ID).")
        return 0

    return asyncio.run(run())


def cmd_audit(args: argparse.Namespace, settings: Settings) -> int:
    """Print the audit trail. The run is itself written to the audit log (who, when, format, --since, how many rows)
    after its rows are read and before they are printed: so its own entry is not in its output (which is the trail
    as it stood when the run began), it is in the next run's. With no data folder there is nothing to read or log."""
    from bot.records.audit import csv_lines, json_lines, log_event, sorted_trail

    if args.check == "verify":
        if args.format or args.since:
            raise UsageError("audit verify checks the whole trail: it takes no --format or --since")
        return verify_audit(args, settings)
    if args.format is None:
        raise UsageError("audit needs --format csv or --format json (or `audit verify` to check the trail)")
    since = parse_date(args.since, "--since") if args.since else None
    data_dir = args.data or settings.data_dir
    lines = csv_lines if args.format == "csv" else json_lines

    async def run() -> None:
        if not has_data(settings, data_dir):
            sys.stdout.writelines(lines([]))
            return
        async with shared_beside_bot(settings, data_dir) as store, sorted_trail(store, since) as trail:
            scope = f"since {since.isoformat()}" if since else "all dates"
            await log_event(store, {"at": datetime.now(LONDON).isoformat(), "by": operator(),
                                    "action": "audit_exported",
                                    "detail": f"format {args.format}; {scope}; {trail.count} row(s)"})
            sys.stdout.writelines(lines(trail.rows()))  # (streamed: constant memory at any size)

    asyncio.run(run())
    return 0


def verify_audit(args: argparse.Namespace, settings: Settings) -> int:
    """`audit verify`: every chain checked; exit 1 naming the first break. The check is itself audited."""
    from bot.records.audit import log_event
    from bot.records.verify import report, verify

    data_dir = args.data or settings.data_dir
    if not has_data(settings, data_dir):
        print(f"No store at {data_dir}: nothing to verify.")
        return 0

    async def run() -> int:
        async with shared_beside_bot(settings, data_dir) as store:
            found = await verify(store)
            for line in report(found):
                print(line)
            await log_event(store, {"at": datetime.now(LONDON).isoformat(), "by": operator(),
                                    "action": "audit_verified",
                                    "detail": "intact" if found.ok else f"{len(found.problems)} problem(s)"})
            return 0 if found.ok else 1

    return asyncio.run(run())


def cmd_purge(args: argparse.Namespace, settings: Settings) -> int:
    """bot.admin.ops.purge: by the running bot where one has the embedded store open, else here."""
    from bot.admin.ops import purge_tail
    from bot.records.retention import years_before

    years = retention_years()
    data_dir = args.data or settings.data_dir
    if not has_data(settings, data_dir):  # (nothing to read: no data folder is made for a purge)
        verb = "Would remove" if args.dry_run else "Removed"
        cutoff = years_before(datetime.now(LONDON), years).date()
        print(f"Nothing to remove: there is no data folder {data_dir} (retention: {years} years after closure, "
              f"closed before {cutoff}).")
        print("\n".join(purge_tail(verb, 0, 0)))
        return 0
    return run_operation(settings, data_dir, "purge", {"years": years, "dry_run": bool(args.dry_run)})


COMMANDS: dict[str, Callable[[argparse.Namespace, Settings], int]] = {
    "export": cmd_export,
    "audit": cmd_audit,
    "purge": cmd_purge,
}


def main(argv: list[str] | None = None) -> int:
    """These commands on their own, with bot/cli.py's error handling: usage errors exit 2 with one line."""
    from storage.base import StoreError

    parser = Parser(prog="python -m bot", description="Safeguarding escalation bot: written records.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    sub.required = True
    add_parsers(sub)
    try:
        args = parser.parse_args(argv)
        load_dotenv_file()
        settings = read_settings()
        logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        return COMMANDS[args.command](args, settings)
    except (UsageError, ConfigError, PolicyError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except StoreError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
