"""The operations an operator's command runs against the store, in whichever process may change it: the command's
own (the store opened exclusively, or PostgreSQL beside the replicas), or the running bot's (bot.admin.socket).

Each takes what the command line checked already (as JSON-able parameters, so that they can cross the socket), the
process's core (`Running`), who asked (`Context.by`, "cli:<OS user>"), and answers with what the command prints and
its exit code (`Answer`). A request that cannot be done (no such case, held already, a directory with problems)
raises `Refused` with one line, and changes nothing.
"""

from __future__ import annotations

import logging
import os
import pwd
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from bot.cases.trail import log_event
from bot.config import Settings
from bot.dates.workdays import LONDON
from bot.jobs.runner import PassReport
from bot.jobs.threads import Undelivered
from storage.base import Store

log = logging.getLogger(__name__)


class Refused(Exception):
    """The operation cannot be done as asked (one line for the operator; nothing was changed): exit code 2."""


@dataclass(frozen=True)
class Answer:
    """What the command prints (`out` on standard output, `err` on standard error) and its exit code."""

    code: int
    out: str = ""
    err: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "out": self.out, "err": self.err}

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> Answer:
        return cls(int(doc["code"]), str(doc.get("out", "")), str(doc.get("err", "")))


class Running(Protocol):
    """What an operation needs of the process's core (bot.app.Core)."""

    store: Store

    async def tick(self, now: datetime | None = None, *, expire: bool = True) -> PassReport: ...

    async def refresh_directory(self) -> bool: ...


@dataclass(frozen=True)
class Context:
    """Who asked (`by`, as audit entries name people), the data folder and the settings of the process doing it, and
    whether that is the running bot (`live`)."""

    by: str
    data_dir: Path
    settings: Settings
    live: bool = False


Operation = Callable[[Running, Mapping[str, Any], Context], Awaitable[Answer]]


def operator(uid: int | None = None) -> str:
    """Who ran a command, as audit entries name people: "cli:<OS user>" from the password database for `uid` (default:
    this process's effective user; never LOGNAME or USER, which anyone can set), or "cli:<uid>" if it has no entry."""
    uid = os.geteuid() if uid is None else uid
    try:
        return f"cli:{pwd.getpwuid(uid).pw_name}"
    except KeyError:
        return f"cli:{uid}"


# --- tick -------------------------------------------------------------------------------------------------------
async def tick(core: Running, params: Mapping[str, Any], context: Context) -> Answer:
    """One scheduler pass at `params["now"]` (no expiry: it is any time an operator chooses). A line per nudge sent
    and the weekly summary if posted; then each message that could not be delivered, on standard error, and exit
    code 1 (they stay queued: the next pass tries them again)."""
    now = datetime.fromisoformat(str(params["now"]))
    report = await core.tick(now, expire=False)
    await log_event(core.store, {"at": datetime.now(now.tzinfo).isoformat(), "by": context.by, "action": "tick",
                                 "detail": f"one scheduler pass at {now.isoformat()}; {len(report.sent)} nudge(s) "
                                           f"sent, {report.delivered} message(s) delivered, "
                                           f"{len(report.undelivered)} not delivered"})
    out = []
    for sent in report.sent:
        text = " ".join(sent.text.split())
        out.append(f"{sent.ref}\tstage {sent.stage}\t{sent.kind}\t{sent.thread.channel}:{sent.thread.conversation}\t"
                   f"{text}")
    if report.summary_posted:
        out.append(f"summary\t{report.summary_posted}\tposted to {context.settings.summary_target}")
    # Console threads are shown by a console session (or by `tick` itself when the bot is stopped): waiting for one
    # is not a failure. Anything else not delivered is.
    failed = [u for u in report.undelivered if u.connected or u.channel != "console"]
    err = [undelivered_line(u, context) for u in failed]
    if failed:
        err.append(f"error: {len(failed)} message(s) could not be delivered; they stay queued and the next pass "
                   "tries them again")
    return Answer(1 if failed else 0, lines(out), lines(err))


def undelivered_line(item: Undelivered, context: Context) -> str:
    about = f"{item.what} about {item.case}" if item.case else item.what
    if item.connected:
        return f"not delivered: {about} to {item.channel}: {item.why}"
    how = {"slack": "SLACK_BOT_TOKEN (and SLACK_SIGNING_SECRET or SLACK_APP_TOKEN)",
           "teams": "MICROSOFT_APP_ID and its credentials"}.get(item.channel)
    fix = f"set {how} where tick runs, or run it while the bot runs" if how and not context.live else \
        "this bot is not connected to it"
    return f"not delivered: {about} to {item.channel}: no {item.channel} connection ({fix})"


# --- purge ------------------------------------------------------------------------------------------------------
async def purge(core: Running, params: Mapping[str, Any], context: Context) -> Answer:
    """Closed cases older than the retention period (`params["years"]`), with the console's saved copies of their
    records, unfinished forms and old dedupe records; or, with `params["dry_run"]`, what would go."""
    from bot.jobs.expiry import DEDUPE
    from bot.records.files import saved_copies
    from bot.records.retention import purge as purge_cases

    years, dry_run = int(params["years"]), bool(params["dry_run"])
    now = datetime.now(LONDON)
    report = await purge_cases(core.store, now, years, dry_run, context.by, DEDUPE)
    if dry_run:  # (a real purge writes its own entry, listing each case; a dry run only counts them)
        await log_event(core.store, {"at": now.isoformat(), "by": context.by, "action": "purge_dry_run",
                                     "detail": f"{len(report.cases)} case(s) would be removed, "
                                               f"{len(report.held)} kept on legal hold; retention {years} years"})
    rule = f"closed before {report.cutoff.date()} (retention: {years} years after closure, BOT_RETENTION_YEARS)"
    verb = "Would remove" if dry_run else "Removed"
    held = [f"Kept, not removed: {case.ref} ({case.why}: run `python -m bot audit verify`)" if case.why else
            f"Held, not removed: {case.ref} (legal hold since {case.held_since})" for case in report.held]
    out = []
    if not report.cases:
        first = f"every case {rule} is on legal hold" if held else f"no case was {rule}"
        out.append(f"Nothing to remove: {first}." + ("" if dry_run else " The purge is in the audit log."))
        out += held
    else:
        out.append(f"{verb} {len(report.cases)} case(s) {rule}:")
        out += [f"{case.ref}\t{case.policy}\tclosed {case.closed_at[:10]}" for case in report.cases]
        out += held
        entry = report.log_key.removeprefix("chain-").lstrip("0") or "0"
        out.append("Dry run: nothing was changed; run with --yes to remove them." if dry_run
                   else f"Recorded in the audit log as entry {entry}.")
    copies = saved_copies(context.data_dir, report.refs)  # (the console's saved copies of their written records)
    if copies:
        if not dry_run:
            for copy in copies:
                copy.unlink(missing_ok=True)
        out.append(f"{verb} {len(copies)} saved copy(ies) of their written records in {copies[0].parent}.")
    return Answer(0, lines([*out, *purge_tail(verb, report.dialogs, report.dedupe_records)]))


def purge_tail(verb: str, dialogs: int, dedupe_records: int) -> list[str]:
    """A purge's last lines, always there: these records are not cases, so they are not in the audit log."""
    from bot.jobs.expiry import DIALOG_RETENTION, RETENTION

    return [f"{verb} {dialogs} unfinished form(s) untouched for {DIALOG_RETENTION.days} days (never opened as cases; "
            "they may hold a child's details).",
            f"{verb} {dedupe_records} dedupe record(s) of chat events older than {RETENTION.days} days (kept only to "
            "ignore platform retries)."]


# --- directory import -------------------------------------------------------------------------------------------
async def import_directory(core: Running, params: Mapping[str, Any], context: Context) -> Answer:
    """Replace the directory with the CSV text `params["csv"]` (from the file `params["file"]`), checked whole; in
    use by this process at once (a running bot's next answer uses it; replicas beside it, at their next pass)."""
    from bot.people.directory import save_directory
    from bot.people.directory_csv import DirectoryCsvError, parse_directory_csv
    from policies.loader import load_policies

    name = str(params["file"])
    try:
        directory = parse_directory_csv(str(params["csv"]), list(load_policies(context.settings.policy_dir)))
    except DirectoryCsvError as exc:
        err = [f"{name}: {problem}" for problem in exc.problems]
        err.append(f"error: {name} was not imported ({len(exc.problems)} problems); nothing changed")
        return Answer(2, "", lines(err))
    await save_directory(core.store, directory)
    await log_event(core.store, {"at": datetime.now(LONDON).isoformat(), "by": context.by,
                                 "action": "directory_imported",  # (how many, never who: the file is the record)
                                 "detail": f"{len(directory)} people, {len(directory.agencies())} agencies"})
    await core.refresh_directory()
    out = [f"Imported {len(directory)} people from {name} ({len(directory.agencies())} agencies)."]
    if context.live:
        out.append("The running bot uses it now.")
    elif context.settings.database_url:
        out.append(f"Running replicas use it from their next scheduler pass (within {context.settings.tick_seconds} "
                   "s).")
    return Answer(0, lines(out))


# --- legal hold ---------------------------------------------------------------------------------------------------
async def hold(core: Running, params: Mapping[str, Any], context: Context) -> Answer:
    """Put case `params["ref"]` on legal hold for `params["reason"]` (checked by the command line)."""
    from bot.records.hold import HoldRefused, place

    ref, now = str(params["ref"]), datetime.now(LONDON)
    try:
        await place(core.store, ref, str(params["reason"]), context.by, now)
    except HoldRefused as exc:
        raise Refused(str(exc)) from None
    return Answer(0, lines([f"{ref} is on legal hold from {now.date()}: purge keeps it, however long ago it closed, "
                            f"until `python -m bot release {ref}`. Recorded in the audit log (without the reason)."]))


async def release(core: Running, params: Mapping[str, Any], context: Context) -> Answer:
    """Take case `params["ref"]` off legal hold."""
    from bot.records.hold import HoldRefused
    from bot.records.hold import release as release_hold

    ref = str(params["ref"])
    try:
        was = await release_hold(core.store, ref, context.by, datetime.now(LONDON))
    except HoldRefused as exc:
        raise Refused(str(exc)) from None
    return Answer(0, lines([f"{ref} is no longer on legal hold (held since {was.since} by {was.by}): purge removes "
                            "it once its retention period has passed. Recorded in the audit log."]))


# --- backup -----------------------------------------------------------------------------------------------------
async def backup(core: Running, params: Mapping[str, Any], context: Context) -> Answer:
    """The data folder and its data keys, as they stand at one moment, in one archive at `params["out"]` (a new file,
    or a folder for a dated one), made at `params["now"]` (bot.records.backup: the process owning the store holds its
    writes still while it takes a snapshot, then writes the archive while it carries on)."""
    from bot.records.backup import KEEP_APART, make_backup
    from storage import default_key_dir

    report = await make_backup(core.store, Path(str(params["out"])), by=context.by,
                               now=datetime.fromisoformat(str(params["now"])))
    keys = context.settings.key_dir or default_key_dir(context.data_dir)
    size = f"{report.size / 1e6:.1f} MB" if report.size >= 100_000 else f"{report.size / 1e3:.1f} kB"
    head = f"; audit head entry {report.head}" if report.head is not None else ""
    wrapped = f" (its data keys are wrapped under master key {', '.join(report.master_keys)})" \
        if report.master_keys else ""
    return Answer(0, lines([
        f"Backed up {context.data_dir} and its data keys ({keys}) to {report.path} ({size}): {report.cases} case(s), "
        f"{report.audit_entries} audit-log entries, this backup's own among them{head}.",
        f"{KEEP_APART[0].upper()}{KEEP_APART[1:]}{wrapped}, and never in the same place as the backups.",
        f"Restore with: python -m bot restore {report.path} (into an empty data folder).",
    ]))


OPERATIONS: dict[str, Operation] = {
    "backup": backup,
    "tick": tick,
    "purge": purge,
    "directory-import": import_directory,
    "hold": hold,
    "release": release,
}


def lines(items: list[str]) -> str:
    return "".join(f"{item}\n" for item in items)
