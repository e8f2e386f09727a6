"""The audit trail export: every event of every case, plus the audit log that outlives purged cases (CSV or JSON)."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
import tempfile
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping
from contextlib import asynccontextmanager
from datetime import UTC, date
from pathlib import Path
from typing import Any

from bot.cases.trail import log_event
from bot.dates.workdays import LONDON
from bot.records.people import instant
from storage.base import Store
from storage.collections import AUDIT_LOG, CASES

__all__ = ["AUDIT_LOG", "COLUMNS", "audit_rows", "csv_lines", "json_lines", "log_event", "sorted_trail", "to_csv",
           "to_json"]
# Rows carry the case reference, policy, time, who (the "channel:id" that acted, "bot" or "cli:USER") and what
# was done. Details are built by the bot from stage titles, dates and citations, never from answers, so an export
# carries no child identifiers. Record exports and downloads, audit runs (`audit_exported`: format, --since and how
# many rows, with no case) and purges go to the "audit_log" collection, which is never purged.
COLUMNS = ("at", "case", "policy", "who", "action", "detail")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def log_rows(entry: Mapping[str, Any]) -> list[dict[str, str]]:
    """Rows for one audit-log entry: a purge gives one row per case it removed (or one saying none was), and one per
    case it kept because it is on legal hold (action `held_not_purged`)."""
    if entry.get("action") == "case_opened":
        return []  # (the chain's record that the case exists: its opening is the case's own first event)
    base = {"at": str(entry.get("at", "")), "who": str(entry.get("by", "")), "action": str(entry.get("action", ""))}
    if "cases" in entry:
        years = entry.get("retention_years")
        why = f"closed before {entry.get('cutoff', '')[:10]} (retention {years} years after closure)"
        removed = entry.get("cases") or []
        kept = [{**base, "action": "held_not_purged", "case": str(c.get("ref", "")), "policy": str(c.get("policy", "")),
                 "detail": (f"kept: {c['why']}" if c.get("why") else f"on legal hold since {c.get('held_since', '')}: "
                            "kept") + f"; closed {str(c.get('closed_at', ''))[:10]}; {why}"}
                for c in entry.get("held") or []]
        if not removed:
            none = f"no case removed: every case {why} is on legal hold" if kept else f"no case {why}"
            return [{**base, "case": "", "policy": "", "detail": none}, *kept]
        return [*({**base, "case": str(c.get("ref", "")), "policy": str(c.get("policy", "")),
                   "detail": f"closed {str(c.get('closed_at', ''))[:10]}; {why}"} for c in removed), *kept]
    return [{**base, "case": str(entry.get("ref", "")), "policy": str(entry.get("policy", "")),
             "detail": str(entry.get("detail", ""))}]


async def audit_rows(store: Store, since: date | None = None) -> list[dict[str, str]]:
    """Every event of every case and every audit-log entry (on or after `since`, London date), oldest first."""
    async with sorted_trail(store, since) as trail:
        return list(trail.rows())


class Trail:
    """The audit trail gathered and sorted outside memory (a temporary SQLite file, owner-only, deleted after): an
    export of 100,000 cases holds one batch of cases at a time, never the whole trail."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db
        self.count = 0

    def add(self, row: Mapping[str, str], since: date | None) -> None:
        at = instant(row["at"])
        if since is not None and at.astimezone(LONDON).date() < since:
            return
        order = at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")
        self.db.execute("INSERT INTO trail VALUES (?, ?, ?, ?, ?, ?, ?)",
                        (order, *(str(row.get(column, "")) for column in COLUMNS)))
        self.count += 1

    def rows(self) -> Iterator[dict[str, str]]:
        """The rows, oldest first (ties: by case, then as gathered)."""
        for found in self.db.execute("SELECT at, ref, policy, who, action, detail FROM trail "
                                     "ORDER BY sort, ref, rowid"):
            yield dict(zip(COLUMNS, found, strict=True))


@asynccontextmanager
async def sorted_trail(store: Store, since: date | None = None) -> AsyncIterator[Trail]:
    """Gather every case's events (a batch of cases at a time) and the audit log into a sorted Trail."""
    with tempfile.TemporaryDirectory(prefix="escalation-audit-") as folder:  # (0700: the owner's only)
        db = sqlite3.connect(Path(folder) / "trail.db")
        try:
            db.execute("CREATE TABLE trail (sort TEXT, at TEXT, ref TEXT, policy TEXT, who TEXT, action TEXT, "
                       "detail TEXT)")
            trail = Trail(db)
            async for batch in store.batches(CASES, fields=("ref", "policy", "events")):
                for ref, case in batch:
                    for event in case.get("events") or []:
                        trail.add({"at": str(event.get("at", "")), "case": str(case.get("ref", ref)),
                                   "policy": str(case.get("policy", "")), "who": str(event.get("by", "")),
                                   "action": str(event.get("action", "")), "detail": str(event.get("detail", ""))},
                                  since)
            async for batch in store.batches(AUDIT_LOG):
                for _, entry in batch:
                    for row in log_rows(entry):
                        trail.add(row, since)
            db.execute("CREATE INDEX trail_order ON trail (sort, ref)")
            yield trail
        finally:
            db.close()


def _safe(cell: str) -> str:
    """A cell a spreadsheet will not run as a formula."""
    return f"'{cell}" if cell.startswith(FORMULA_STARTS) else cell


def to_csv(rows: Iterable[Mapping[str, str]]) -> str:
    """CSV with a header line; cells that a spreadsheet would read as a formula get a leading apostrophe."""
    return "".join(csv_lines(rows))


def csv_lines(rows: Iterable[Mapping[str, str]]) -> Iterator[str]:
    """`to_csv`, a line at a time (an export streamed to its output)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    yield out.getvalue()
    for row in rows:
        out.seek(0)
        out.truncate()
        writer.writerow([_safe(str(row.get(column, ""))) for column in COLUMNS])
        yield out.getvalue()


def to_json(rows: Iterable[Mapping[str, str]]) -> str:
    """A JSON array of row objects."""
    return "".join(json_lines(rows))


def json_lines(rows: Iterable[Mapping[str, str]]) -> Iterator[str]:
    """`to_json`, a row at a time (the same text as json.dumps(..., indent=2) of the whole list)."""
    first = True
    for row in rows:
        body = json.dumps(dict(row), ensure_ascii=False, indent=2).replace("\n", "\n  ")
        yield ("[\n  " if first else ",\n  ") + body
        first = False
    yield "[]\n" if first else "\n]\n"
